"""The shape of the package: no import cycles, and the pipeline's direction kept.

record → capture → assemble → link → order → render / compare, then the glue that runs things
(scenarios, session, summary, the pytest plugin, the CLI). A module may import the shared core
(calls, errors, model, display) and any earlier stage, never a later one; render and compare never
import each other. Imports inside functions count: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parents[1] / "tracer"

#: Stages in pipeline order (a module belongs to the first prefix it matches); the core is stage 0.
STAGES: tuple[tuple[str, int], ...] = (
    ("ipctrace.record", 1),
    ("ipctrace.capture", 2),
    ("ipctrace.tracefile", 3),
    ("ipctrace.assemble", 3),
    ("ipctrace.link", 4),
    ("ipctrace.order", 5),
    ("ipctrace.render", 6),
    ("ipctrace.compare.pytest_plugin", 10),  # glue: runs scenarios to compare them
    ("ipctrace.compare.fixture", 10),  # the plugin's fixture: the same glue, imported when a test uses it
    ("ipctrace.compare.runner", 9),  # glue: a scenario run and its canonical form, for the CLI and the fixture
    ("ipctrace.compare", 6),
    ("ipctrace.scenarios", 7),
    ("ipctrace.explore.scenario", 9),  # glue: explores a scenario, replays its outcomes through the session
    ("ipctrace.explore", 7),  # the race explorer: a session replays its schedules
    ("ipctrace.session", 8),
    ("ipctrace.cprograms", 8),  # builds the C originals a session runs
    ("ipctrace.summary", 9),
    ("ipctrace.cli", 10),
    ("ipctrace.arguments", 10),  # the command line the cli reads
    ("ipctrace.__main__", 11),
    ("ipctrace.entry", 11),  # the command's entry point: the cli behind a guard for Ctrl-C during start-up
)
STAGE_NAMES = {  # one stage, two modules
    "ipctrace.tracefile": "ipctrace.assemble",
    "ipctrace.compare.fixture": "ipctrace.compare.pytest_plugin",
    "ipctrace.cprograms": "ipctrace.session",
    "ipctrace.arguments": "ipctrace.cli",
    "ipctrace.entry": "ipctrace.__main__",
}

#: Violations being removed by work in progress; this set only ever shrinks (empty when done).
KNOWN: frozenset[tuple[str, str]] = frozenset()
KNOWN_CYCLES: frozenset[str] = frozenset()  # packages with a cycle inside (none left)


def _module_name(path: Path) -> str:
    parts = ["ipctrace", *path.relative_to(ROOT).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _import_graph() -> nx.DiGraph:
    modules = {_module_name(p): p for p in ROOT.rglob("*.py") if "bootstrap" not in p.parts}
    edges: dict[str, set[str]] = defaultdict(set)
    for name, path in modules.items():
        package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                base = node.module
                if node.level:
                    base = ".".join([*package[: len(package) - node.level + 1], node.module])
                targets = [base, *(f"{base}.{alias.name}" for alias in node.names)]
            edges[name].update(t for t in targets if t in modules and t != name)
    graph = nx.DiGraph()
    graph.add_nodes_from(modules)
    graph.add_edges_from((a, b) for a, bs in edges.items() for b in bs)
    return graph


def _stage(module: str) -> tuple[str, int]:
    for prefix, rank in STAGES:
        if module == prefix or module.startswith(prefix + "."):
            return STAGE_NAMES.get(prefix, prefix), rank
    return "core", 0


def test_no_import_cycles():
    cycles = [sorted(c) for c in nx.strongly_connected_components(_import_graph()) if len(c) > 1]
    unexpected = [c for c in cycles if not any(all(m.startswith(p) for m in c) for p in KNOWN_CYCLES)]
    assert not unexpected, f"import cycles: {unexpected}"


def test_no_stage_imports_a_later_stage():
    bad = set()
    for a, b in _import_graph().edges:
        (stage_a, rank_a), (stage_b, rank_b) = _stage(a), _stage(b)
        if stage_a != stage_b and rank_b >= rank_a:
            bad.add((a, b))
    assert bad - KNOWN == set(), f"imports against the pipeline's direction: {sorted(bad - KNOWN)}"


def test_the_core_and_the_recorder_import_nothing_heavy():
    graph = _import_graph()
    for module in ("ipctrace.calls", "ipctrace.errors", "ipctrace.model"):
        assert all(_stage(b)[1] == 0 for b in graph.successors(module)), module
    recorder = [m for m in graph if _stage(m)[0] == "ipctrace.record"]
    for module in recorder:
        outside = {b for b in graph.successors(module) if _stage(b)[0] != "ipctrace.record"}
        assert outside <= {"ipctrace.calls", "ipctrace.compiled"}, (module, outside)


def test_nothing_a_traced_process_loads_imports_the_readers_side():
    """`ipctrace.record` and all it may import run inside every traced program: reading the logs back (the reader,
    its json and dataclasses; the native call sites) is the session's, so the two share only `layout`."""
    loaded = nx.descendants(_import_graph(), "ipctrace.record")
    assert "ipctrace.record.log" in loaded and "ipctrace.record.settle" in loaded
    assert not loaded & {"ipctrace.record.reader", "ipctrace.record.native.sites"}, sorted(loaded)
