"""Smoke test of the benchmark command: `--quick` writes a table with every section and real numbers.

No timing assertions here: speed targets live in the benchmark table (benchmarks/RESULTS.md), never in tests.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SECTIONS = (
    "Recorder cost per call",
    "End to end",
    "Capture",
    "Rendering",
    "The classroom page (HTML)",
    "Start-up",
    "Comparing traces",
    "Race explorer",
)
NUMBER = re.compile(r"^-?\d[\d,]*(\.\d+)?\b")


def _tables(text: str) -> list[list[list[str]]]:
    """Markdown tables in `text`: each a list of data rows (header and separator left out)."""
    tables, current = [], None
    for line in text.splitlines():
        if line.startswith("|"):
            if current is None:
                current = []
                tables.append(current)
            current.append([c.strip() for c in line.strip().strip("|").split("|")])
        else:
            current = None
    return [t[2:] for t in tables]


@pytest.mark.slow
def test_quick_benchmark_writes_every_section_with_numbers(tmp_path: Path) -> None:
    out = tmp_path / "results.md"
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--quick", "--output", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,  # a guard against a hang, not a speed target (figures live in RESULTS.md)
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    text = out.read_text(encoding="utf-8")
    assert text.strip() in proc.stdout  # printed and written alike
    assert "## Machine" in text and "| CPU |" in text and "| Python |" in text and "| kernel |" in text
    parts = re.split(r"^## ", text, flags=re.M)
    for title in SECTIONS:
        found = [p for p in parts if re.match(rf"\d+\. {re.escape(title)}", p)]
        assert found, f"section {title!r} missing"
        body = found[0]
        assert "failed" not in body.splitlines()[0], body[:500]
        tables = _tables(body)
        assert tables, f"section {title!r} has no table"
        if "Not measured here" in body:  # capture without privilege: said plainly, no numbers to check
            continue
        for rows in tables:
            assert rows, f"an empty table in {title!r}"
            for row in rows:
                assert any(NUMBER.match(cell) for cell in row[1:]), f"no number in {title!r} row {row}"
