// The state of a view in a URLSearchParams (the page's query) or an element's attributes: the
// same keys for both. Shell keys say what to show; every other key is a view's state (text,
// layer, head, …; see views.js STATE_KEYS).
import { STATE_KEYS } from './views.js';

export const SHELL_KEYS = ['view', 'embed', 'hide', 'demo', 'backend', 'wasm', 'models', 'theme'];

/** The view state in `params` (everything but the shell keys), as { key: string }. */
export function stateOf(params) {
  const s = {};
  for (const [k, v] of params) if (!SHELL_KEYS.includes(k)) s[k] = v;
  return s;
}

/** `params` with the shell keys kept and the state replaced by `state` (only `tab`'s keys). */
export function withState(params, tab, state) {
  const out = new URLSearchParams();
  for (const [k, v] of params) if (SHELL_KEYS.includes(k)) out.set(k, v);
  const keys = STATE_KEYS[tab] ?? Object.keys(state);
  for (const k of keys) if (state[k] !== undefined && state[k] !== null) out.set(k, state[k]);
  return out;
}
