"""Sequence diagrams from real runs: every scenario in every view, folding, Korean labels, text formats.

Scenarios run once per session (in parallel, free ports, temporary folders);
SVGs are checked by structure (element ids, classes and coordinates), never
by pixels. Graphviz and the Korean font are needed: without them these tests
skip and say what is missing, except in CI, where they fail.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from ipctrace.link import link
from ipctrace.order import OrderedTrace, order
from ipctrace.render import RENDERERS, RenderError, RenderOptions, build_diagram, get_renderer, render_outputs
from ipctrace.render.graphviz_svg import pdf_page_count, png_size
from ipctrace.render.i18n import korean_font
from ipctrace.render.text import timeline
from ipctrace.scenarios import adhoc_scenario, builtin_scenarios, find_scenario
from ipctrace.session import RunOptions, run_scenario
from tests.conftest import IN_CI, PROGRAMS, can_capture

VIEWS = ("processes", "kernel", "packets")
SVG = "{http://www.w3.org/2000/svg}"


def _need(condition: bool, what: str) -> None:
    if not condition:
        if IN_CI:
            pytest.fail(f"CI must have {what}")
        pytest.skip(f"{what} is not installed")


NO_GRAPHVIZ_NEEDED = {
    "test_missing_korean_font_says_how_to_fix",
    "test_missing_graphviz_says_how_to_fix",
    "test_bad_options_are_one_sentence",
    "test_timeline_still_prints_when_linking_fails",
}


@pytest.fixture(autouse=True)
def needs_graphviz(request):
    if request.node.originalname not in NO_GRAPHVIZ_NEEDED:
        _need(shutil.which("neato") is not None, "graphviz (apt-get install graphviz)")


@pytest.fixture(scope="session")
def traces(tmp_path_factory) -> dict[str, OrderedTrace]:
    """Every built-in scenario, run once (packets captured when this machine can)."""
    root = tmp_path_factory.mktemp("render-runs")
    capture = "scapy" if can_capture() is None else "none"
    names = sorted(builtin_scenarios())

    def run(name: str) -> tuple[str, OrderedTrace]:
        result = run_scenario(find_scenario(name), RunOptions(outdir=root / name, capture=capture, port=0))
        return name, order(link(result.trace))

    with ThreadPoolExecutor(4) as pool:
        return dict(pool.map(run, names))


@pytest.fixture(scope="session")
def loop_trace(tmp_path_factory) -> OrderedTrace:
    root = tmp_path_factory.mktemp("render-loop")
    scenario = adhoc_scenario([sys.executable, str(PROGRAMS / "render_loop.py"), "1000"])
    result = run_scenario(scenario, RunOptions(outdir=root, capture="none", port=0))
    return order(link(result.trace))


# -- SVG structure ----------------------------------------------------------------------------------


def _groups(svg: str) -> list[ET.Element]:
    root = ET.fromstring(svg)
    return [g for g in root.iter(f"{SVG}g") if g.get("id")]


def _classes(g: ET.Element) -> set[str]:
    return set((g.get("class") or "").split())


def _path_ends(g: ET.Element) -> tuple[tuple[float, float], tuple[float, float]]:
    path = next(g.iter(f"{SVG}path"), None)
    assert path is not None, g.get("id")
    numbers = [float(x) for x in re.findall(r"-?\d+(?:\.\d+)?", path.get("d", ""))]
    points = list(zip(numbers[::2], numbers[1::2], strict=False))
    return points[0], points[-1]


def check_svg(svg: str, ordered: OrderedTrace, view: str, folded: bool) -> None:
    groups = _groups(svg)
    lanes = {g.get("id") for g in groups if "lane" in _classes(g)}
    for proc in ordered.trace.processes:
        if ordered.trace.events_of(proc.pid):
            assert f"lane-p{proc.pid}" in lanes, f"no lifeline for {proc.role} (pid {proc.pid})"
    arrows = [g for g in groups if "arrow" in _classes(g)]
    for g in arrows:  # time flows down: no arrow ends above where it starts
        (_, y0), (_, y1) = _path_ends(g)
        assert y1 >= y0 - 0.5, f"{g.get('id')} points up"
        title = g.find(f"{SVG}title")
        assert title is not None and title.text and "->" not in title.text
    flows = ordered.linked.flows
    drawn: dict[str, list[int]] = {"msg": [], "in": [], "out": []}
    for g in arrows:
        cls = _classes(g)
        ids = [int(c.removeprefix("flow-")) for c in cls if c.startswith("flow-")]
        if view == "processes" and cls & {"msg", "lost", "found"}:
            assert len(ids) == 1, g.get("id")
            drawn["msg"].extend(ids)
        for leg in ("in", "out"):
            if leg in cls:
                drawn[leg].extend(ids)
    diagram = build_diagram(ordered, RenderOptions(view=view, fold=folded))
    hidden = set(diagram.folded_flows)
    if view == "processes":
        expected = sorted(i for i in range(len(flows)) if i not in hidden)
        assert sorted(drawn["msg"]) == expected, "arrows and flows are not one-to-one"
    else:
        sends = sorted(i for i, f in enumerate(flows) if f.send is not None and i not in hidden)
        recvs = sorted(i for i, f in enumerate(flows) if f.recv is not None and i not in hidden)
        assert sorted(drawn["in"]) == sends, "every sent flow enters the kernel exactly once"
        assert sorted(drawn["out"]) == recvs, "every received flow leaves the kernel exactly once"
    if view == "packets" and ordered.trace.packets:
        assert any("packet" in _classes(g) for g in arrows), "the packets view draws the wire"


@pytest.mark.slow
@pytest.mark.parametrize("view", VIEWS)
def test_every_scenario_every_view(traces, view):
    renderer = get_renderer("svg", RenderOptions(view=view, fold=False))
    for name, ordered in traces.items():
        diagram = build_diagram(ordered, RenderOptions(view=view, fold=False))
        svg = renderer.render(diagram)
        try:
            check_svg(svg, ordered, view, folded=False)
        except AssertionError as exc:
            raise AssertionError(f"{name}, {view} view: {exc}") from None


def test_messages_are_never_received_before_sent(traces):
    for name, ordered in traces.items():
        diagram = build_diagram(ordered, RenderOptions(fold=False))
        for arrow in diagram.arrows:
            assert arrow.dst_row >= arrow.src_row, f"{name}: {arrow.id}"
            assert diagram.rows[arrow.dst_row].y >= diagram.rows[arrow.src_row].y


def test_pipe3_reads_like_the_textbook(traces):
    diagram = build_diagram(traces["pipe3"], RenderOptions())
    titles = [lane.title for lane in diagram.lanes]
    assert titles == ["main", "child of main"]
    child = diagram.lanes[1]
    fork = next(a for a in diagram.arrows if a.kind == "fork")
    assert child.first_row == fork.src_row, "the child's lifeline begins at the parent's fork()"
    labels = [a.label for a in diagram.arrows if a.kind == "msg"]
    assert labels == ["'Who are you?\\0'", "'Thank you for your message\\0'"]
    assert {b.kind for b in diagram.bars} >= {"wait", "sleep"}
    assert all(lane.end == "exit 0" for lane in diagram.lanes)
    assert any("Parent proc output" in line.text for note in diagram.notes for line in note.lines)


def test_kernel_view_has_a_lane_per_pipe(traces):
    diagram = build_diagram(traces["pipe3"], RenderOptions(view="kernel"))
    assert [lane.title for lane in diagram.lanes if lane.kind == "channel"] == ["pipe #1", "pipe #2"]
    assert any(b.kind == "held" for b in diagram.bars), "bytes waiting in the pipe are visible"


def test_blocked_at_the_end_is_open(traces):
    diagram = build_diagram(traces["pipe2_nosleep"], RenderOptions())
    assert any(b.kind == "open" for b in diagram.bars)
    assert any(lane.open_end for lane in diagram.lanes)


def test_packets_view_shows_the_handshake(traces):
    ordered = traces["tcp_hello"]
    if not ordered.trace.packets:
        pytest.skip(f"no packets captured here: {can_capture()}")
    diagram = build_diagram(ordered, RenderOptions(view="packets"))
    labels = [a.label for a in diagram.arrows if a.kind == "packet"]
    assert labels[:3] == ["SYN", "SYN, ACK", "ACK"]
    assert any("FIN" in label for label in labels)
    thin = build_diagram(ordered, RenderOptions(view="packets", packets="data"))
    assert "ACK" not in [a.label for a in thin.arrows if a.kind == "packet"]
    none = build_diagram(ordered, RenderOptions(view="packets", packets="none"))
    assert not [a for a in none.arrows if a.kind == "packet"]


# -- folding ----------------------------------------------------------------------------------------


def test_thousand_exchanges_fold_into_one_loop(loop_trace):
    diagram = build_diagram(loop_trace, RenderOptions())
    assert [f.count for f in diagram.folds] == [1000]
    fold = diagram.folds[0]
    assert fold.row1 - fold.row0 < 8, "one iteration is drawn, not a thousand"
    assert len(diagram.rows) < 40
    assert len(fold.flows) == 2000 and len(diagram.folded_flows) == 1998
    svg = get_renderer("svg").render(diagram)
    folds = [g for g in _groups(svg) if "fold" in _classes(g)]
    assert len(folds) == 1 and "count-1000" in _classes(folds[0])
    assert "loop × 1,000" in svg
    check_svg(svg, loop_trace, "processes", folded=True)
    unfolded = build_diagram(loop_trace, RenderOptions(fold=False))
    assert not unfolded.folds and len(unfolded.rows) > 4000


# -- pages, formats, options ------------------------------------------------------------------------


def test_render_outputs_writes_every_file(traces, tmp_path):
    written = render_outputs(traces["tcp_chat"], tmp_path, RenderOptions(view="packets"))
    for label in ("svg", "png", "pdf", "mermaid", "plantuml"):
        assert written[label].is_file(), label
    pngs = sorted(tmp_path.glob("sequence-*.png"))
    assert [p.name for p in pngs][:1] == ["sequence-01.png"]
    assert len(pngs) == len([k for k in written if k.startswith("png")])
    for png in pngs:
        assert png_size(png.read_bytes()) == (1920, 1080), "a 16:9 slide"
    pdf = written["pdf"].read_bytes()
    assert pdf.startswith(b"%PDF") and pdf_page_count(pdf) == len(pngs)
    ET.fromstring(written["svg"].read_text(encoding="utf-8"))


def test_long_traces_paginate_without_fit(loop_trace, tmp_path):
    options = RenderOptions(fold=False, fit=None, page_rows=300)
    written = render_outputs(loop_trace, tmp_path, options, formats=("png",))
    assert len(written) == len(build_diagram(loop_trace, options).rows) // 300 + 1
    assert all(png_size(p.read_bytes())[1] < 32_767 for p in written.values())


@pytest.mark.parametrize("theme", ["dark", "print"])
def test_themes_and_slide_options(traces, theme):
    options = RenderOptions(theme=theme, font_size=18, title="Pipes, both ways", legend=True)
    svg = get_renderer("svg", options).render(build_diagram(traces["pipe3"], options))
    assert "Pipes, both ways" in svg
    assert any(g.get("id") == "legend" for g in _groups(svg))


def test_korean_labels(traces):
    _need(korean_font() is not None, "a Korean font (apt-get install fonts-nanum)")
    options = RenderOptions(lang="ko")
    svg = get_renderer("svg", options).render(build_diagram(traces["pipe3"], options))
    for word in ("부모 프로세스", "자식 프로세스", "main의 자식"):
        assert word in svg
    kernel = RenderOptions(lang="ko", view="kernel")
    assert "파이프 #1" in get_renderer("svg", kernel).render(build_diagram(traces["pipe3"], kernel))


def test_missing_korean_font_says_how_to_fix(traces, monkeypatch):
    import ipctrace.render.i18n as i18n

    monkeypatch.setattr(i18n, "korean_font", lambda: None)
    with pytest.raises(RenderError, match="apt-get install fonts-nanum"):
        build_diagram(traces["pipe3"], RenderOptions(lang="ko"))


def test_missing_graphviz_says_how_to_fix(traces, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(RenderError, match="apt-get install graphviz"):
        render_outputs(traces["pipe1"], tmp_path / "out", formats=("svg",))


def test_bad_options_are_one_sentence():
    with pytest.raises(RenderError, match="choose one of processes, kernel, packets"):
        RenderOptions(view="wire")
    assert set(RENDERERS) == {"svg", "png", "pdf", "mermaid", "plantuml", "text"}


# -- Mermaid, PlantUML, text ------------------------------------------------------------------------

_MERMAID_LINE = re.compile(
    r"^(sequenceDiagram|title .+|participant L\d+ as .+|(activate|deactivate) L\d+|loop .+|end"
    r"|L\d+(->>|-->>|-x)L\d+: .+|Note (left of|right of|over) L\d+: .+)$"
)


def check_mermaid(text: str) -> None:
    """A strict check of the subset ipctrace writes: known statements, balanced blocks, declared participants."""
    lines = text.splitlines()
    assert lines[0] == "sequenceDiagram"
    declared = set(re.findall(r"participant (L\d+) as", text))
    depth = 0
    active: dict[str, int] = {}
    for line in lines:
        stripped = line.strip()
        assert _MERMAID_LINE.match(stripped), f"not a Mermaid statement: {line!r}"
        assert ";" not in re.sub(r"#\w+;", "", stripped), f"a bare ; ends a Mermaid statement: {line!r}"
        for ref in re.findall(r"\bL\d+\b", stripped):
            assert ref in declared, ref
        if stripped.startswith("loop "):
            depth += 1
        elif stripped == "end":
            depth -= 1
            assert depth >= 0
        elif stripped.startswith(("activate", "deactivate")):
            who = stripped.split()[1]
            active[who] = active.get(who, 0) + (1 if stripped.startswith("activate") else -1)
            assert active[who] >= 0, f"deactivate of an inactive {who}"
    assert depth == 0


def test_mermaid_and_plantuml_are_valid(traces, loop_trace, tmp_path):
    sources = []
    for name, ordered in [*traces.items(), ("render_loop", loop_trace)]:
        for view in VIEWS:
            diagram = build_diagram(ordered, RenderOptions(view=view))
            check_mermaid(get_renderer("mermaid").render(diagram))  # type: ignore[arg-type]
            puml = get_renderer("plantuml").render(diagram)
            assert isinstance(puml, str) and puml.startswith("@startuml") and puml.rstrip().endswith("@enduml")
            path = tmp_path / f"{name}-{view}.puml"
            path.write_text(puml, encoding="utf-8")
            sources.append(path)
    if shutil.which("plantuml") is None:
        return  # the structural checks above are all we can do here
    subset = [p for p in sources if p.name.startswith(("pipe3", "tcp_chat-", "udp_file_done", "render_loop"))]
    proc = subprocess.run(
        ["plantuml", "-checkonly", "-failfast2", *map(str, subset)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_text_timeline_names_endpoints_and_shows_packets(traces):
    text = timeline(traces["pipe3"].trace)
    assert "fd 4 (pipe write end)  'Who are you?\\0' (13 B)  -> 13  [pipe#1]" in text
    tcp = traces["tcp_chat"].trace
    if tcp.packets:
        lines = timeline(tcp).splitlines()
        syn = next(i for i, line in enumerate(lines) if "[SYN]" in line)
        connect = next(i for i, line in enumerate(lines) if " connect " in line)
        assert connect < syn, "the packet comes after the call that sent it"
        assert any("[PSH, ACK]" in line and "len=15" in line for line in lines)
    rows = get_renderer("text").render(build_diagram(traces["pipe3"], RenderOptions()))
    assert "child of main" in rows and "exit 0" in rows


def test_timeline_still_prints_when_linking_fails(traces, monkeypatch):
    import ipctrace.link

    def broken(trace):
        raise ValueError("boom")

    monkeypatch.setattr(ipctrace.link, "link", broken)
    assert "pipe3" not in timeline(traces["pipe3"].trace) and "write" in timeline(traces["pipe3"].trace)


def test_paths_written_are_reported(traces, tmp_path):
    written = render_outputs(traces["pipe1"], tmp_path, formats=("svg", "text"))
    assert set(written) == {"svg", "text"}
    assert all(isinstance(p, Path) and p.parent == tmp_path for p in written.values())
