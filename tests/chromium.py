"""Debian's Chromium as the suite and the benchmarks drive it (Playwright, headless, network closed, as root)."""

from __future__ import annotations

CHROMIUM = "/usr/bin/chromium"
# what Chromium needs on a closed network as root: no sandbox, no background connections
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
