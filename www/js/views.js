// The views the page and <attention-playground> are built from: four tabs (a module each under
// views/, exporting mount(root, app) → a controller { state(), set(state), exporters, main }),
// and single panels of a tab, shown by hiding the tab's other parts. What to hide is a stylesheet
// over [data-part] names, so it also covers parts built later and changes live.
import { exportMenu } from './export.js';

export const TABS = [
  { id: 'attention', title: 'Attention', load: () => import('./views/attention.js') },
  { id: 'text', title: 'Text (MiniLM)', load: () => import('./views/text.js') },
  { id: 'image', title: 'Image (DINOv2)', load: () => import('./views/image.js') },
  { id: 'mechanisms', title: 'Mechanisms', load: () => import('./views/mechanisms.js') },
];
/** The panels of a tab that can be shown alone (view="text-head" etc.). */
export const PANELS = {
  attention: ['attention-matrix', 'attention-steps'],
  text: ['text-head', 'text-matrix', 'text-model', 'text-entropy', 'text-rollout', 'text-steps', 'text-qk'],
  image: ['image-overlay', 'image-grid', 'image-saliency', 'image-qk'],
  mechanisms: [],
};
export const VIEWS = [...TABS.map((t) => t.id), ...Object.values(PANELS).flat()];
/** The keys of each tab's state (URL parameters and element attributes). */
export const STATE_KEYS = {
  attention: ['text', 'score', 'temperature', 'normalizer', 'mask'],
  text: ['text', 'pair', 'layer', 'head', 'heads', 'hideSpecial', 'fusion', 'residual', 'qk', 'qkLayer', 'qkHead', 'qkMode', 'qkSentences', 'qkToken'],
  image: ['image', 'layer', 'head', 'source', 'fusion', 'opacity', 'colormap', 'query', 'qk', 'qkLayer', 'qkHead', 'qkToken'],
  mechanisms: null, // every named control (see views/mechanisms.js)
};

/** The tab a view belongs to, or null for an unknown view. */
export const tabOf = (view) => (TABS.some((t) => t.id === view) ? view : Object.keys(PANELS).find((t) => PANELS[t].includes(view)) ?? null);

/**
 * CSS that hides what `view` does not show and what `hide` names: 'controls' (every control),
 * or control / panel names (text, layer, head, export, text-rollout, …), comma or space separated.
 * `demo` (1-based, mechanisms) shows one demo alone.
 */
export function hideCss(view, hide = '', demo = '') {
  const tab = tabOf(view);
  const names = String(hide).split(/[\s,]+/).filter((n) => /^[\w-]+$/.test(n));
  if (tab && tab !== view) names.push(...PANELS[tab].filter((p) => p !== view), 'intro');
  const rules = names.map((n) => `[data-part~="${n}"]`);
  if (tab === 'mechanisms' && /^[\w-]+$/.test(String(demo || ''))) {
    rules.push('[data-part~="mech-panel"]', '[data-part~="mech-title"]', `[data-part~="demo"]:not([data-part~="demo-${demo}"])`);
  }
  return rules.length ? `${rules.join(', ')} { display: none !important; }\n` : '';
}

/** The exporter a view's controller uses for `panel` (default: the view itself, else the tab's main panel). */
export function exporterOf(controller, view, panel) {
  const ex = controller?.exporters ?? {};
  const demo = controller?.demo ? `demo-${controller.demo}` : null;
  const name = panel ?? (ex[view] ? view : demo && ex[demo] ? demo : controller?.main);
  if (!ex[name]) throw new Error(`no view "${name}" to export here (one of: ${Object.keys(ex).join(', ')})`);
  return ex[name];
}

/** Mounts tab `tab` into `root` with `app`; adds a save menu to each exportable part. */
export async function mountTab(root, tab, app) {
  const controller = await TABS.find((t) => t.id === tab).load().then((m) => m.mount(root, app));
  for (const [name, ex] of Object.entries(controller?.exporters ?? {})) {
    const holder = root.querySelector(`[data-part~="${name}"]`);
    if (holder) exportMenu(holder, `${name}`, ex);
  }
  return controller;
}
