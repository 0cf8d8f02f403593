# attention-playground — the commands (see README.md):
#   make serve   build, then serve www/ on http://127.0.0.1:8080 (PORT=... to change)
#   make test    install what is missing, build, run native tests and browser tests
#   make bench   native and browser benchmarks (print figures; never fail on speed)
# Other parts hook in by appending to BENCH_NATIVE / BENCH_BROWSER and adding their targets.

PORT ?= 8080
NODE ?= node
CARGO ?= cargo

.PHONY: all setup build wasm models serve test test-native test-browser bench bench-native bench-browser clean
all: build

setup:
	./scripts/setup.sh

wasm: setup
	./scripts/build-wasm.sh

models: setup
	./scripts/models.sh

build: wasm models

serve: build
	PORT=$(PORT) $(NODE) scripts/serve.mjs

test-native: setup
	$(CARGO) test --release

test-browser: build
	$(NODE) tests/browser/run.mjs

test: build test-native test-browser

# Benchmarks: each entry is a make target, run in order. Append yours anywhere in this file,
# e.g. `BENCH_NATIVE += bench-kernels` (expanded when the recipe runs, so order does not matter).
BENCH_NATIVE :=
BENCH_BROWSER := bench-attention-browser
bench-native:
	@for t in $(BENCH_NATIVE); do $(MAKE) --no-print-directory $$t || exit 1; done
bench-browser: build
	@for t in $(BENCH_BROWSER); do $(MAKE) --no-print-directory $$t || exit 1; done
bench: bench-native bench-browser

bench-attention-browser:
	$(NODE) scripts/bench-browser.mjs tests/browser/bench/attention.bench.mjs

clean:
	rm -rf pkg www/pkg bench-out
	$(CARGO) clean

# Vision (DINOv2): browser forward latency beside onnxruntime-web; parity fixtures from onnxruntime.
BENCH_BROWSER += bench-vision-browser
bench-vision-browser:
	$(NODE) scripts/bench-browser.mjs tests/browser/bench/vision.bench.mjs
# The same comparison in process CPU time (node/V8), steady on a loaded machine.
BENCH_BROWSER += bench-vision-cputime
bench-vision-cputime:
	$(NODE) tests/browser/bench/vision-cputime.mjs
vision-fixtures: models
	python3 scripts/make-vision-fixtures.py
.PHONY: bench-vision-browser bench-vision-cputime vision-fixtures
# Image encoders from Hugging Face folders (loadVisionModelFiles): tiny PyTorch fixtures; a real
# DINOv2 folder from the built-in weights into .cache/ (not committed), for the check and the bench.
vit-files-fixtures:
	$${PYREF_VENV:-.cache/venv}/bin/python scripts/make-vit-files-fixtures.py
DINOV2_HF := .cache/dinov2-small-hf/model.safetensors
dinov2-hf-folder: $(DINOV2_HF)
$(DINOV2_HF): scripts/make-dinov2-hf-folder.py
	$${PYREF_VENV:-.cache/venv}/bin/python scripts/make-dinov2-hf-folder.py
.PHONY: vit-files-fixtures dinov2-hf-folder

# Dense ops (linear, layer_norm): native CPU/GPU GFLOP/s, and the wasm SIMD128 CPU path in
# headless Chromium (tools/wasm-bench builds its own small wasm module).
BENCH_NATIVE += bench-dense
BENCH_BROWSER += bench-dense-wasm
.PHONY: bench-dense bench-dense-wasm
bench-dense:
	$(CARGO) run --release --bin bench_dense
bench-dense-wasm:
	./tools/wasm-bench/run.sh chromium

# Attention kernels (every variant, unfused): native CPU and GPU time and GFLOP/s, seq 64…4096.
BENCH_NATIVE += bench-kernels
.PHONY: bench-kernels
bench-kernels:
	$(CARGO) run --release --bin bench_attention

# Fused ("flash") vs unfused attention, seq 256…16384, 8 heads × headDim 64, CPU and native GPU:
# time, GFLOP/s, memory (on a software Vulkan the GPU rows stop at 2048; see src/bin/bench_flash.rs).
BENCH_NATIVE += bench-flash
.PHONY: bench-flash
bench-flash:
	$(CARGO) run --release --bin bench_flash -- --max-seq 16384 --reps 3

# Text (MiniLM): browser forward latency beside onnxruntime-web (the ONNX export runs here, not in
# `make build`), and the native CPU/GPU forward latency.
BENCH_BROWSER += bench-text-browser
BENCH_NATIVE += bench-text
.PHONY: bench-text-browser bench-text
bench-text-browser:
	$(NODE) scripts/bench-browser.mjs tests/browser/bench/text.bench.mjs
bench-text:
	$(CARGO) run --release --bin bench_text

# Live typing and clicking on the page (issue 16): keystroke → every view redrawn, and the longest
# main-thread task, with the engine in its Worker and on the main thread; the CPU path (WebGPU off).
BENCH_BROWSER += bench-typing-browser
.PHONY: bench-typing-browser
bench-typing-browser:
	WEBGPU=0 $(NODE) scripts/bench-browser.mjs tests/browser/bench/typing.bench.mjs

# Issue 13, long fuzz runs (`make test` runs a bounded number of cases of each):
# property-based fuzzing of attention (tests/fuzz_attention.rs), and of the inputs (weight parsers
# on mutated files: safetensors and ONNX; the tokenizer on arbitrary Unicode against Hugging Face `tokenizers`).
FUZZ_ATTENTION_CASES ?= 100000
FUZZ_CASES ?= 20000
.PHONY: fuzz fuzz-attention fuzz-inputs soak
fuzz: fuzz-attention fuzz-inputs
fuzz-attention: setup
	PROPTEST_CASES=$(FUZZ_ATTENTION_CASES) $(CARGO) test --release --test fuzz_attention -- --nocapture
fuzz-inputs: setup
	PROPTEST_CASES=$(FUZZ_CASES) $(CARGO) test --release --test fuzz_weights
	PROPTEST_CASES=$(FUZZ_CASES) $(CARGO) test --release --test tokenizer_parity fuzz_
	PROPTEST_CASES=$(FUZZ_CASES) $(CARGO) test --release --lib fuzz_onnx
# The memory soak: 10,000 attention and 1,000 runText calls per backend, wasm memory and JS heap
# before and after (SOAK_ATTENTION, SOAK_TEXT, SOAK_TEXT_WEBGPU change the counts).
soak: build
	$(NODE) scripts/soak.mjs

# The CPU path on 1 and 2 threads (the threads build) beside onnxruntime-web numThreads 1 and 2.
# MiniLM's ONNX for onnxruntime-web is written without torch (numpy + onnx in their own venv).
BENCH_BROWSER += bench-threads-browser
.PHONY: bench-threads-browser
bench-threads-browser: .cache/models/minilm.onnx
	WEBGPU=0 $(NODE) scripts/bench-browser.mjs tests/browser/bench/threads.bench.mjs
.cache/models/minilm.onnx: | models
	[ -x .cache/onnx-venv/bin/python ] || python3 -m venv .cache/onnx-venv
	.cache/onnx-venv/bin/pip install -q numpy onnx onnxruntime
	.cache/onnx-venv/bin/python scripts/make-minilm-onnx.py $@

# A model folder converted in the page (load*ModelFiles): time and peak memory, per (kind, folder)
# case (MODEL_FILES=text:dir,vision:dir to choose), beside loading the converted web file.
BENCH_BROWSER += bench-model-files
.PHONY: bench-model-files
bench-model-files:
	$(NODE) scripts/bench-browser.mjs tests/browser/bench/model-files.bench.mjs
