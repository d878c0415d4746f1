#!/usr/bin/env bash
# Installs everything ipctrace needs on Debian, idempotently: system packages (graphviz, Korean fonts,
# tcpdump, libpcap, strace, tshark, gcc/libc6-dev/make for the C originals, python3-dev for the recorder's
# compiled hot path), a virtual environment in
# .venv with ipctrace and its Python dependencies, the C originals built into reference_programs/c/build/
# and the native recorder into tracer/record/native/build/, and the PNG slides' encoder settings library
# (render/graphviz/pngfast.c) into ~/.cache/ipctrace/pngfast/.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

packages=(graphviz fonts-nanum fontconfig tcpdump libpcap0.8 iproute2 strace tshark gcc libc6-dev make python3-dev)
missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
python=${PYTHON:-python3}
if ! command -v "$python" >/dev/null; then missing+=(python3 python3-venv); python=python3; fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "ipctrace setup: installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "ipctrace setup: ipctrace needs Python 3.11 or newer; $("$python" --version) found. Set PYTHON=/path/to/python3.11." >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  if ! "$python" -m venv .venv 2>/dev/null; then
    rm -rf .venv
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    "$python" -m venv .venv
  fi
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]'
make -s -C reference_programs/c  # the C originals (ipctrace run NAME --impl c); warnings would show here
make -s -C tracer/record/native  # the native recorder (LD_PRELOAD) that records them and other programs
.venv/bin/python -c 'from ipctrace.render.graphviz import pngfast; pngfast.library()'  # PNG slides' encoder settings
echo "ipctrace setup: ready ($(.venv/bin/ipctrace --version))"
