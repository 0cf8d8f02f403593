// CPU time of every thread of the browser this bench started (Linux /proc; 10 ms ticks), so a
// bench can say how much CPU a forward took and how it spread over the threads: on a loaded
// machine wall time says little about a second thread, CPU time still does.
import { readdirSync, readFileSync } from 'node:fs';

const TICK_MS = 10; // USER_HZ is 100 on Linux

/** [state…] fields of /proc/…/stat after the parenthesized name (which may hold spaces). */
function fields(path) {
  try {
    const s = readFileSync(path, 'utf8');
    return { name: s.slice(s.indexOf('(') + 1, s.lastIndexOf(')')), f: s.slice(s.lastIndexOf(')') + 2).split(' ') };
  } catch {
    return null; // the process or thread has ended
  }
}

/** Pids of every process below `root` (the browser's processes below this node process). */
function descendants(root = process.pid) {
  const children = new Map();
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    const st = fields(`/proc/${pid}/stat`);
    if (!st) continue;
    const ppid = st.f[1]; // field 4
    if (!children.has(ppid)) children.set(ppid, []);
    children.get(ppid).push(pid);
  }
  const out = [];
  const walk = (p) => (children.get(p) ?? []).forEach((c) => (out.push(c), walk(c)));
  walk(String(root));
  return out;
}

/** Map 'pid/tid' → { name, ms } of CPU time (user + system) so far, for every browser thread. */
export function threadCpu() {
  const out = new Map();
  if (process.platform !== 'linux') return out;
  for (const pid of descendants()) {
    let tids = [];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      const st = fields(`/proc/${pid}/task/${tid}/stat`);
      if (st) out.set(`${pid}/${tid}`, { name: st.name, ms: (Number(st.f[11]) + Number(st.f[12])) * TICK_MS }); // utime, stime
    }
  }
  return out;
}

/** Adds the CPU each thread spent between snapshots `before` and `after` into `into`
 *  ('pid/tid' → { name, ms }). */
export function addSpent(into, before, after) {
  for (const [k, { name, ms }] of after) {
    const d = ms - (before.get(k)?.ms ?? 0);
    if (d > 0) into.set(k, { name, ms: (into.get(k)?.ms ?? 0) + d });
  }
  return into;
}

/** Per run, of what `addSpent` gathered over `runs` runs: { total, busiest, top } ms, `top` the
 *  busiest threads as 'name ms' strings. */
export function perRun(spent, runs) {
  const v = [...spent.values()].sort((a, b) => b.ms - a.ms);
  return {
    total: v.reduce((a, b) => a + b.ms, 0) / runs,
    busiest: (v[0]?.ms ?? 0) / runs,
    top: v.slice(0, 4).map((t) => `${t.name} ${Math.round(t.ms / runs)}`),
  };
}
