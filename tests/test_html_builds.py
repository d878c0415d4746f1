"""`--builds`: the slide pages as builds, one more message per page, at the classroom page's steps.

Checked on the layout model (what each build shows) and on the real files
graphviz draws (how many pages, their size), and against the steps the HTML
page embeds, so build k and the page's step agree.
"""

from __future__ import annotations

import pytest

from ipctrace.cli import main
from ipctrace.render import RenderOptions, build_diagram, render_outputs
from ipctrace.render.graphviz.files import pdf_page_count, png_size
from ipctrace.render.html import embedded_data
from ipctrace.render.layout.reveal import build_rows, builds, reveal_steps, revealed
from ipctrace.render.options import PNG_WIDTH_PX, View
from ipctrace.tracefile import write_trace
from tests.render_support import need_graphviz, some_runs

SCENARIOS = ["pipe3", "tcp_chat", "udp_file_done"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return some_runs(tmp_path_factory, SCENARIOS)


@pytest.mark.parametrize("view", list(View))
def test_each_build_shows_one_more_message(runs, view):
    for name, ordered in runs.items():
        diagram = build_diagram(ordered, RenderOptions(view=view))
        steps = reveal_steps(diagram)
        assert [s.row for s in steps] == list(range(len(diagram.rows))), "one step per row, in order"
        shown = list(builds(diagram))
        for page in diagram.pages:
            rows = build_rows(diagram, page, steps)
            ours = [d for p, d in shown if p is page]
            assert len(ours) == len(rows) >= 1
            before: set[str] = {str(a.id) for a in diagram.arrows if max(a.src_row, a.dst_row) < page.row0}
            for row, build in zip(rows, ours, strict=True):
                now = {str(a.id) for a in build.arrows}
                added = now - before
                assert before <= now, f"{name}: a build lost an arrow"
                assert added == {str(a) for a in steps[row].arrows} or (row == page.row1 - 1 and not steps[row].message)
                assert all(c.row <= row for c in build.calls) and all(n.row <= row for n in build.notes)
                assert all(b.row1 <= row for b in build.bars)
                assert all(lane.first_row <= row for lane in build.lanes)
                assert f"{row + 1}" in build.subtitle  # the page says which step it shows
                before = now
        assert sum(len(build_rows(diagram, p, steps)) for p in diagram.pages) == len(shown)
        assert revealed(diagram, len(diagram.rows) - 1) is diagram


def test_builds_are_the_pages_steps(runs, tmp_path):
    """The rows where builds end are the classroom page's steps that complete a message (and each page's end)."""
    for name, ordered in runs.items():
        page_file = render_outputs(ordered, tmp_path / name, RenderOptions(), formats=("html",))["html"]
        text = page_file.read_text(encoding="utf-8")
        data = embedded_data(text)
        message_rows = [row for row, arrows in enumerate(data["views"]["processes"]["steps"]) if arrows]
        diagram = build_diagram(ordered, RenderOptions())
        ends = {p.row1 - 1 for p in diagram.pages}
        build_ends = [row for p in diagram.pages for row in build_rows(diagram, p)]
        assert [r for r in build_ends if r in message_rows] == message_rows, name
        assert set(build_ends) - set(message_rows) <= ends, name


def test_builds_are_drawn_as_slides(runs, tmp_path):
    need_graphviz()
    ordered = runs["pipe3"]
    trace = tmp_path / "trace.jsonl"
    write_trace(ordered.trace, trace)
    assert main(["render", str(trace), "--builds", "--format", "png,pdf", "--output", str(tmp_path / "b")]) == 0
    diagram = build_diagram(ordered, RenderOptions(builds=True))
    count = len(list(builds(diagram)))
    pngs = sorted((tmp_path / "b").glob("sequence-*.png"))
    assert len(pngs) == count > len(diagram.pages)
    assert all(png_size(p.read_bytes()) == (PNG_WIDTH_PX, 1080) for p in pngs)
    assert len({p.read_bytes() for p in pngs}) == count, "every build differs from the one before"
    assert pdf_page_count((tmp_path / "b" / "sequence.pdf").read_bytes()) == count
    assert main(["render", str(trace), "--format", "png", "--output", str(tmp_path / "plain")]) == 0
    assert len(list((tmp_path / "plain").glob("sequence-*.png"))) == len(diagram.pages)


def test_a_run_without_a_wire_has_the_kernel_layout_as_its_packets_view(runs):
    """The page makes the packets view of a pipes-only run from its kernel view: the layouts must agree."""
    from ipctrace.render.html import diagrams_of

    ordered = runs["pipe3"]
    reused = diagrams_of(ordered, None, RenderOptions())[View.PACKETS]
    built = build_diagram(ordered, RenderOptions(view=View.PACKETS))
    assert reused.subtitle == built.subtitle
    assert (reused.lanes, reused.rows, reused.arrows, reused.bars, reused.calls) == (
        built.lanes,
        built.rows,
        built.arrows,
        built.bars,
        built.calls,
    )
    assert diagrams_of(runs["tcp_chat"], None, RenderOptions())[View.PACKETS].arrows != ()
