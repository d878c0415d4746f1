#!/usr/bin/env bash
# Tools only CI needs, installed idempotently. Lecturers do not need them for SVG/PNG/PDF.
#
# - plantuml (Debian): renders every generated .puml file in tests/test_render_text_formats.py
# - chromium (Debian) and @mermaid-js/mermaid-cli (npm): render every generated .mmd file; puppeteer
#   must not download a browser of its own (PUPPETEER_SKIP_DOWNLOAD=1): the tests point it at
#   /usr/bin/chromium through a puppeteer config (executablePath, --no-sandbox as root).
set -euo pipefail
cd "$(dirname "$0")/.."
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

MERMAID_CLI_VERSION="11.17.0"

packages=(plantuml chromium nodejs npm fonts-nanum)
missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
# node and npm may come from elsewhere than Debian (a newer Node.js on the machine): then keep those
if command -v node >/dev/null && command -v npm >/dev/null; then
  missing=("${missing[@]/nodejs/}")
  missing=("${missing[@]/npm/}")
fi
wanted=()
for pkg in "${missing[@]}"; do [ -n "$pkg" ] && wanted+=("$pkg"); done
if [ ${#wanted[@]} -gt 0 ]; then
  echo "ipctrace CI: installing Debian packages: ${wanted[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${wanted[@]}" >/dev/null
fi

if ! command -v mmdc >/dev/null || ! mmdc --version 2>/dev/null | grep -q "$MERMAID_CLI_VERSION"; then
  echo "ipctrace CI: installing @mermaid-js/mermaid-cli $MERMAID_CLI_VERSION (npm, using Debian's chromium)"
  as_root env PUPPETEER_SKIP_DOWNLOAD=1 npm install -g --no-fund --no-audit --loglevel=error \
    "@mermaid-js/mermaid-cli@$MERMAID_CLI_VERSION" >/dev/null
fi
