// Plain words for the terms the views use, and a glossary a reader opens where the terms appear:
// a <details> (a native disclosure: keyboard and screen readers need nothing more).
import { el } from './util.js';

export const TERMS = {
  token: ['token', 'A piece of the input the model works on: a word, part of a word (“##ing”) or a punctuation mark.'],
  query: ['query, key, value', 'Each token is turned into three vectors. Its query is compared with every token’s key (a dot product); softmax turns those scores into weights; the output is the weighted average of the values.'],
  softmax: ['softmax', 'Turns a row of scores into weights that are positive and sum to 1: exp(score) / Σ exp(scores). Sparsemax and entmax can give exact zeros instead.'],
  temperature: ['temperature', 'Scores are divided by it before the softmax: below 1 sharpens a row (one key wins), above 1 flattens it.'],
  mask: ['mask', 'Keys a query may not look at get weight 0: causal (only earlier tokens), a window around the token, or only the k best.'],
  cls: ['[CLS]', 'A special token added at the start of every input. It is no word; many heads put their spare attention on it (or on [SEP]) when nothing else fits.'],
  sep: ['[SEP]', 'A special token that ends a sentence, and separates the two sentences of a pair.'],
  heads: ['head', 'One of several attentions that run side by side in a layer (12 here), each with its own queries, keys and values, so each can look for its own pattern; the layer joins their outputs.'],
  layer: ['layer', 'One round of attention plus a small network; the model stacks 6 (text) or 12 (image), each reading the one before.'],
  entropy: ['entropy (nats)', 'How spread out a row of attention is: H = −Σ p·ln p. 0 nats: all weight on one token; ln n nats (n tokens): spread evenly. “Nats” because it uses the natural log (1 nat ≈ 1.44 bits).'],
  rollout: ['rollout', 'Multiplies the attention maps of layers 1 to L to estimate how much each input token flows into each position after L layers (Abnar & Zuidema, 2020). With “residual”, each map is first taken as 0.5·A + 0.5·I: half attention A, half the identity I (the token keeping itself), and rows renormalized.'],
  residual: ['residual', 'The connection that adds a layer’s input to its output (x + attention(x)), so each token keeps its own information as it goes up the layers.'],
  patch: ['patch', 'The image model cuts the picture into 14 × 14-pixel squares; each patch is one token.'],
  classToken: ['class token', 'An extra token with no pixels of its own; it gathers a summary of the whole image, so its attention shows what the model finds important.'],
};

/** A closed “glossary” disclosure holding the terms `keys` (of TERMS). */
export function glossary(keys, summary = 'What do these words mean?', part = 'glossary') {
  const dl = el('dl');
  for (const k of keys) {
    const [term, text] = TERMS[k];
    dl.append(el('dt', { textContent: term }), el('dd', { textContent: text }));
  }
  const d = el('details', { className: 'glossary' }, el('summary', { textContent: summary }), dl);
  d.dataset.part = part;
  return d;
}

/** A short plain explanation beside a view: what its rows and columns are, and what to try. */
export function explain(text) {
  const p = el('p', { className: 'explain', textContent: text });
  p.dataset.part = 'explain';
  return p;
}
