#!/usr/bin/env python3
"""Tiny randomly initialised BERT checkpoints with unusual dimensions, as Hugging Face folders,
plus PyTorch reference outputs, for loadTextModelFiles (tests/bert_files.rs and
tests/browser/model-files.test.mjs).

    $PYREF_VENV/bin/python scripts/make-bert-files-fixtures.py   # any venv with torch+transformers

Writes tests/fixtures/bert-files/<case>/ (the files save_pretrained writes that the converter
reads) and tests/fixtures/bert-files/<case>.json (reference: tokens, ids, attention
[layers, heads, seq, seq] flattened, embedding = mean over tokens + L2, of the last hidden state).
Seeded: the same versions of torch/transformers write the same files.

Cases (2 layers, 3 heads, hidden 48, intermediate 80, 40 positions, 3 token types, eps 1e-7):
  gelu      BertModel, erf GELU, f32, vocab.txt + tokenizer_config.json (uncased)
  gelu_new  BertForMaskedLM saved whole (tensor names under "bert."), tanh GELU, bf16,
            vocab.txt only
  f16_cased BertModel, erf GELU, f16, tokenizer.json only, cased (no lowercase, accents kept)
"""
import json, os, shutil, tempfile
import torch, transformers
from transformers import BertConfig, BertModel, BertForMaskedLM, BertTokenizerFast

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests/fixtures/bert-files")

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
WORDS = ["the", "a", "cat", "dog", "sat", "on", "mat", "is", "small", "big", "run", "##s", "##ing", "##ed",
         "attention", "head", "model", "token", "café", "Cafe", "The", "Dog", "naïve", "re", "##sume", "##é"]
PUNCT = list(".,!?;:'\"()-[]")
LETTERS = list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZéï")
# No duplicates (real vocabularies have none; with one, vocab.txt and tokenizer.json disagree on its id).
VOCAB = list(dict.fromkeys(SPECIALS + PUNCT + LETTERS + ["##" + c for c in LETTERS] + WORDS))

SENTENCES = [
    "The cat sat on the mat.",
    "Dog runs; attention heads token model!",
    "Café naïve résumé",
    # Past 40 positions: cut to the model's length.
    " ".join(["the small dog is running"] * 12),
]
PAIR = ("The dog sat.", "a small cat runs")


def config(act):
    return BertConfig(vocab_size=len(VOCAB), hidden_size=48, num_hidden_layers=2, num_attention_heads=3,
                      intermediate_size=80, max_position_embeddings=40, type_vocab_size=3, hidden_act=act,
                      layer_norm_eps=1e-7, attn_implementation="eager")


def tokenizer(lowercase):
    vocab = {t: i for i, t in enumerate(VOCAB)}
    return BertTokenizerFast(vocab=vocab, do_lower_case=lowercase, strip_accents=None if lowercase else False, model_max_length=40)


def reference(model, tok, name):
    cases = []
    inputs = [(s, None) for s in SENTENCES] + [PAIR]
    for text, pair in inputs:
        enc = tok(text, pair, truncation=True, max_length=40, return_tensors="pt")
        with torch.no_grad():
            out = model(**enc, output_attentions=True)
        hidden = out.last_hidden_state[0].float()
        emb = hidden.mean(0)
        emb = emb / emb.norm().clamp_min(1e-12)
        att = torch.stack([a[0] for a in out.attentions]).float()  # [layers, heads, seq, seq]
        cases.append({
            "text": text, "pair": pair,
            "tokens": tok.convert_ids_to_tokens(enc["input_ids"][0]),
            "ids": enc["input_ids"][0].tolist(),
            "type_ids": enc["token_type_ids"][0].tolist(),
            "attention": [round(v, 6) for v in att.flatten().tolist()],
            "embedding": [round(v, 6) for v in emb.tolist()],
        })
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump({"torch": torch.__version__, "transformers": transformers.__version__, "cases": cases}, f)


def write(name, model_cls, act, dtype, lowercase, keep):
    torch.manual_seed({"gelu": 1, "gelu_new": 2, "f16_cased": 3}[name])
    model = model_cls(config(act)).eval()
    # Random LayerNorm parameters too, so a swapped weight/bias shows.
    with torch.no_grad():
        for n, p in model.named_parameters():
            if "LayerNorm" in n:
                p.copy_((1.0 if n.endswith("weight") else 0.0) + 0.2 * torch.randn_like(p))
    dir = os.path.join(OUT, name)
    shutil.rmtree(dir, ignore_errors=True)
    os.makedirs(dir)
    with tempfile.TemporaryDirectory() as tmp:
        tok = tokenizer(lowercase)
        tok.save_pretrained(tmp)
        # transformers 5 writes tokenizer.json only; vocab.txt is the older form, id = line.
        with open(os.path.join(tmp, "vocab.txt"), "w") as f:
            f.write("\n".join(VOCAB) + "\n")
        for f in keep:
            shutil.copy(os.path.join(tmp, f), dir)
    model.to(dtype).save_pretrained(dir, safe_serialization=True)
    for f in os.listdir(dir):
        if f not in ("config.json", "model.safetensors") + keep:
            os.remove(os.path.join(dir, f))
    # The reference runs in f32 from the stored (rounded) weights, as the converter does.
    loaded = model_cls.from_pretrained(dir, dtype=torch.float32, attn_implementation="eager").eval()
    base = loaded.bert if hasattr(loaded, "bert") else loaded
    reference(base, tok, name)


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    write("gelu", BertModel, "gelu", torch.float32, True, ("vocab.txt", "tokenizer_config.json"))
    write("gelu_new", BertForMaskedLM, "gelu_new", torch.bfloat16, True, ("vocab.txt",))
    write("f16_cased", BertModel, "gelu", torch.float16, False, ("tokenizer.json",))
    for f in sorted(os.listdir(OUT)):
        p = os.path.join(OUT, f)
        size = sum(os.path.getsize(os.path.join(p, x)) for x in os.listdir(p)) if os.path.isdir(p) else os.path.getsize(p)
        print(f"{f}: {size} bytes")
