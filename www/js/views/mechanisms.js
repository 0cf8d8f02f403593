// The Mechanisms tab (issue 5): a panel with every attention option, and eight small demos that
// compute live on the active backend — each a module mech-*.js exporting demo(parent, app). All
// numbers come from pg calls (attention, multiHead, rollout, Playground.sinusoidal).
import { Playground } from '../../pkg/attention_playground.js';
import { panel } from './mech-panel.js';

const DEMOS = ['scaling', 'temperature', 'normalizers', 'permutation', 'masks', 'multihead', 'regression', 'looking'];

export async function mount(section, app) {
  const css = Object.assign(document.createElement('link'), { rel: 'stylesheet', href: 'css/mechanisms.css' });
  document.head.append(css);
  panel(section, app, Playground);
  const title = document.createElement('h2');
  title.className = 'mech-grid-title';
  title.textContent = 'Show it';
  const grid = document.createElement('div');
  grid.className = 'mech-grid';
  section.append(title, grid);
  const modules = await Promise.all(DEMOS.map((d) => import(`./mech-${d}.js`)));
  // Cards appear in order; each starts computing as soon as it is built (pg serializes the calls).
  for (const m of modules) m.demo(grid, app);
}
