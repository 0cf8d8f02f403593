// <attention-playground>: one view of the playground as a web component (see README
// "Embedding"). Attributes are the view's state and are live; properties mirror them; a `change`
// event reports edits by the reader. Every element on a page shares one engine (engine.js: one
// wasm module, one Playground per backend, one copy of each model); a view that needs no model
// downloads none. Styles live in the shadow root.
import { getPlayground, MODELS } from './engine.js';
import { VIEWS, STATE_KEYS, tabOf, hideCss, mountTab, exporterOf } from './views.js';
import { exportBlob } from './export.js';
import { cssLink } from './util.js';

const STRUCTURE = ['view', 'backend', 'models']; // changing one rebuilds the view
const SHOWN = ['hide', 'demo']; // changing one restyles it
const STATE = [...new Set(Object.values(STATE_KEYS).filter(Boolean).flat()),
  'positions', 'biasStrength', 'dropout', 'dropoutSeed', 'stats', 'returnWeights'];

export class AttentionPlayground extends HTMLElement {
  static observedAttributes = [...STRUCTURE, ...SHOWN, 'theme', ...STATE];

  #controller = null;
  #ready = null;
  #generation = 0;
  #applying = false;
  #backendListeners = [];

  constructor() {
    super();
    this.attachShadow({ mode: 'open' });
  }

  /** Resolves to this element once its view is drawn (or has said why it cannot be). */
  get ready() { return this.#ready ?? Promise.resolve(this); }
  get view() { return this.getAttribute('view') ?? 'attention'; }
  set view(v) { this.setAttribute('view', v); }
  /** The view's whole state, as the attributes would spell it. */
  get state() { return { ...this.#attributeState(), ...(this.#controller?.state?.() ?? {}) }; }
  /** The shared Playground this element computes with. */
  get playground() { return this.#pg; }

  connectedCallback() {
    if (!this.#ready) this.#mount();
  }

  attributeChangedCallback(name, old, value) {
    if (old === value || !this.#ready) return;
    if (STRUCTURE.includes(name)) return void this.#mount();
    if (SHOWN.includes(name)) return void this.#restyle();
    if (STATE.includes(name) && value !== null && !this.#applying) {
      this.#ready.then(() => this.#apply({ [name]: value }));
    }
  }

  /** The view (or one of its panels, by name) as a PNG Blob. */
  async exportPNG(panel) { return exportBlob(await this.#exporter(panel), 'png'); }
  /** The view as SVG text (vector: cells, lines and labels). */
  async exportSVG(panel) { return (await this.#exporter(panel)).svg(); }
  /** The numbers behind the view: tokens, the weights shown, layer/head, model, backend. */
  async exportJSON(panel) { return (await this.#exporter(panel)).json(); }

  async #exporter(panel) {
    await this.ready;
    return exporterOf(this.#controller, this.view, panel);
  }

  #pg = null;
  #style = null;

  #attributeState() {
    const s = {};
    for (const k of STATE) if (this.hasAttribute(k)) s[k] = this.getAttribute(k);
    return s;
  }

  #apply(s) {
    this.#applying = true;
    try {
      this.#controller?.set?.(s);
    } finally {
      this.#applying = false;
    }
  }

  #restyle() {
    this.#style.textContent = hideCss(this.view, this.getAttribute('hide') ?? '', this.getAttribute('demo') ?? '');
    if (this.#controller) this.#controller.demo = this.getAttribute('demo');
  }

  #mount() {
    const mine = ++this.#generation;
    const root = this.shadowRoot;
    const view = this.view, tab = tabOf(view);
    this.#controller = null;
    this.#style = document.createElement('style');
    const body = document.createElement('div');
    body.className = 'body';
    body.dataset.view = tab ?? '';
    root.replaceChildren(cssLink('main'), this.#style, body);
    this.#restyle();
    const css = (name) => {
      if (root.querySelector(`link[data-css="${name}"]`)) return;
      const link = cssLink(name);
      link.dataset.css = name;
      root.prepend(link);
    };
    this.#ready = (async () => {
      if (!tab) {
        body.textContent = `attention-playground: unknown view "${view}" (one of: ${VIEWS.join(', ')})`;
        body.className = 'error';
        return this;
      }
      try {
        this.#pg = await getPlayground({ backend: this.getAttribute('backend') ?? 'auto' });
      } catch (e) {
        body.textContent = `attention-playground: no backend: ${e?.message ?? e}`;
        body.className = 'error';
        return this;
      }
      if (mine !== this.#generation) return this;
      const pg = this.#pg;
      // One onbackendchange per Playground, shared by every element that uses it.
      const hub = (pg.__elements ??= { listeners: new Set() });
      pg.onbackendchange ??= () => hub.listeners.forEach((fn) => fn(pg.backend));
      this.#backendListeners.forEach((fn) => hub.listeners.delete(fn));
      this.#backendListeners = [];
      const app = {
        pg,
        css,
        models: this.getAttribute('models') ?? MODELS.href,
        initial: this.#attributeState(),
        status: () => {},
        onBackendChange: (fn) => (hub.listeners.add(fn), this.#backendListeners.push(fn)),
        changed: () => {
          if (this.#applying || mine !== this.#generation) return;
          this.dispatchEvent(new CustomEvent('change', { detail: this.state }));
        },
      };
      try {
        const controller = await mountTab(body, tab, app);
        if (mine !== this.#generation) return this;
        this.#controller = controller;
        this.#restyle();
        await controller?.loaded;
      } catch (e) {
        body.append(Object.assign(document.createElement('p'), { className: 'error', textContent: `attention-playground: ${e?.message ?? e}` }));
      }
      return this;
    })();
    return this.#ready;
  }
}

// Properties mirror the state attributes (text, layer, head, …): reading gives the live value.
for (const key of STATE) {
  Object.defineProperty(AttentionPlayground.prototype, key, {
    get() { return this.state[key]; },
    set(v) { this.setAttribute(key, String(v)); },
    configurable: true,
  });
}

if (!customElements.get('attention-playground')) customElements.define('attention-playground', AttentionPlayground);
