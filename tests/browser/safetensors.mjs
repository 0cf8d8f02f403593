// Reading the test fixtures (safetensors files written by scripts/make-*-fixtures.py) in Node.
import { readFileSync } from 'node:fs';

/** One IEEE half-precision value from its 16 bits. */
export function f16(bits) {
  const s = bits & 0x8000 ? -1 : 1, e = (bits >> 10) & 0x1f, m = bits & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** Opens a safetensors file: `header` (name → { dtype, shape, data_offsets }), `data(name)` (its bytes). */
export function readSafetensors(path) {
  const buf = readFileSync(path);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8'));
  const data = (key) => {
    const [a, b] = header[key].data_offsets;
    return buf.subarray(8 + n + a, 8 + n + b);
  };
  return { header, data, halfs: (key) => { const d = data(key); return Array.from({ length: d.length / 2 }, (_, i) => f16(d.readUInt16LE(2 * i))); } };
}
