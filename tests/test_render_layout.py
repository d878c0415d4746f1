"""The layout model of real runs: slide pages, no overlaps, every message once, names, endings, folds.

Every built-in scenario runs once per session (tests/render_support.py); the
checks read the frozen layout model (`Diagram`), no pixels.
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import pytest

from ipctrace.calls import Call
from ipctrace.link import link
from ipctrace.model import EventKey
from ipctrace.order import order
from ipctrace.render import RenderError, RenderOptions, build_diagram
from ipctrace.render.i18n import korean_font
from ipctrace.render.labels import show_text
from ipctrace.render.layout import ArrowKind, BarKind, CallKind, EndKind, LaneKind, NoteKind, RowKind
from ipctrace.render.layout.beside import ROWS_A_LINE
from ipctrace.render.layout.measure import head_lines, head_size, note_text
from ipctrace.render.options import MIN_TEXT_PX, View
from ipctrace.render.outputs import render as render_format
from ipctrace.scenarios import adhoc_scenario, builtin_scenarios
from ipctrace.session import RunOptions, run_scenario
from tests.conftest import PROGRAMS, can_capture
from tests.render_support import (
    VIEWS,
    check_diagram,
    check_no_overlaps,
    korean_chat_run,
    loop_run,
    need,
    only_endings,
    page_fill,
    scenario_runs,
    smallest_text_px,
    some_runs,
)


@pytest.fixture(scope="module")
def traces(tmp_path_factory):
    return scenario_runs(tmp_path_factory)


@pytest.fixture(scope="module")
def loop_trace(tmp_path_factory):
    return loop_run(tmp_path_factory)


def _calls(diagram, lane_title: str) -> list[str]:
    lane = next(lane for lane in diagram.lanes if lane.title == lane_title)
    return [" ".join((c.text, *c.details)) for c in diagram.calls if c.lane == lane.id]


# -- the invariants, for every scenario and view ----------------------------------------------------------


RECORDED = Path(__file__).parent / "traces"


def _recorded_echo_storeserv() -> dict[str, object]:
    from ipctrace.order import analyse
    from ipctrace.tracefile import read_trace

    paths = sorted(RECORDED.glob("echo_storeserv_*.jsonl"))
    return {p.stem: analyse(read_trace(p)) for p in paths}


def _as_slide(diagram, page):
    """The diagram as one slide shows it: its lanes where the slide puts them, and only what it draws."""
    from dataclasses import replace

    xs = {p.lane: p.x for p in page.lanes}
    lanes = tuple(replace(lane, x=xs[lane.id]) for lane in diagram.lanes if lane.id in xs)
    here = range(page.row0, page.row1)
    return replace(
        diagram,
        lanes=lanes,
        lane_index={lane.id: i for i, lane in enumerate(lanes)},
        calls=tuple(c for c in diagram.calls if c.lane in xs and c.row in here),
        notes=tuple(n for n in diagram.notes if n.lane in xs and n.row in here),
        arrows=tuple(
            a
            for a in diagram.arrows
            if a.src in xs and a.dst in xs and a.src_row < page.row1 and a.dst_row >= page.row0
        ),
        bars=tuple(b for b in diagram.bars if b.lane in xs and b.row0 < page.row1 and b.row1 >= page.row0),
    )


def check_slides_across(diagram) -> None:
    """Every slide's lanes, heads and labels lie within its 960 points, and nothing overlaps where it puts them."""
    from ipctrace.render.layout.boxes import boxes
    from ipctrace.render.options import PAGE_WIDTH_PT

    for page in diagram.pages:
        slide = _as_slide(diagram, page)
        check_no_overlaps(slide)
        for box in boxes(slide):
            if slide.rows[box.row].y < page.y0 or slide.rows[box.row].y > page.y1:
                continue
            left, right = page.dx + page.scale * box.x0, page.dx + page.scale * box.x1
            assert -0.5 <= left and right <= PAGE_WIDTH_PT + 0.5, f"slide {page.number}: {box.ref} off the slide"


@pytest.mark.parametrize("view", VIEWS)
def test_every_scenario_makes_readable_whole_slides(traces, view):
    """No arrow split across pages, no page of endings only, text ≥ 28 px, no overlaps, every message once.

    echo_storeserv's two clients interleave differently every run: its recorded runs stand in for it here,
    among them a line read 8 rows after it was sent, whose diagonal ran through another message's label
    until the arrow's end could be moved down instead of the label (echo_storeserv_long_reply_across_a_label),
    and a second client connecting before the first one's connection closed, whose packets view needs ten
    columns and was once scaled to 14.8 px text (echo_storeserv_two_connections_at_once: now cut slide by
    slide, each slide showing the columns alive in its rows), and an echo written while the one before it was
    still on the way, whose label that long diagonal ran through until the label could go below its receiving
    end (echo_storeserv_long_arrows_through_labels).
    """
    assert set(traces) >= set(builtin_scenarios())
    recorded = _recorded_echo_storeserv()
    assert len(recorded) >= 7
    checked = {name: ordered for name, ordered in traces.items() if name != "echo_storeserv"} | recorded
    for name, ordered in sorted(checked.items()):
        for fold in (True, False):
            diagram = build_diagram(ordered, RenderOptions(view=view, fold=fold))
            try:
                check_diagram(diagram, ordered)
                check_slides_across(diagram)
            except AssertionError as exc:
                raise AssertionError(f"{name}, {view} view, fold={fold}: {exc}") from None


def test_a_label_an_earlier_message_runs_through_goes_to_its_receiving_end():
    """A handler's second echo written while its first is still on the way: the first one's long diagonal ran
    through the second one's label at the sending end, however far the label's band moved down. The label goes
    below the receiving end instead, where the first message has already arrived, and nothing crosses it."""
    from ipctrace.order import analyse
    from ipctrace.render.layout.boxes import BoxKind, boxes, crossings
    from ipctrace.render.layout.model import LabelAt
    from ipctrace.tracefile import read_trace

    ordered = analyse(read_trace(RECORDED / "echo_storeserv_long_arrows_through_labels.jsonl"))
    for fold in (True, False):
        diagram = build_diagram(ordered, RenderOptions(view=View.PROCESSES, fold=fold))
        second = next(a for a in diagram.arrows if str(a.id) == "flow-22")
        assert second.label_at is LabelAt.DST
        box = next(b for b in boxes(diagram) if b.kind is BoxKind.LABEL and b.ref == "flow-22")
        assert box.y0 > diagram.rows[second.dst_row].y, "below the receiving end"
        assert not [seg.ref for seg, crossed in crossings(diagram) if crossed.ref == "flow-22"]
        check_no_overlaps(diagram)


def test_overlapping_connections_are_cut_slide_by_slide():
    """Two clients' connections alive at once: the packets view is wider than any one cut through a socket
    column allows, so each slide shows its own columns, packed, at the readable size, and the server's
    socket column is shared by the windows of one slide."""
    from ipctrace.order import analyse
    from ipctrace.tracefile import read_trace

    ordered = analyse(read_trace(RECORDED / "echo_storeserv_two_connections_at_once.jsonl"))
    diagram = build_diagram(ordered, RenderOptions(view=View.PACKETS))
    assert diagram.width > 1.5 * 940, "the whole drawing is half as wide again as a slide"
    assert smallest_text_px(diagram) >= MIN_TEXT_PX - 0.01
    by_rows: dict[tuple[int, int], list] = {}
    for page in diagram.pages:
        by_rows.setdefault((page.row0, page.row1), []).append(page)
    assert any(len(windows) > 1 for windows in by_rows.values()), "some slides are cut into lane windows"
    for windows in by_rows.values():
        if len(windows) > 1:
            shared = set.intersection(*({p.lane for p in page.lanes} for page in windows))
            assert shared, "the windows of one slide share a column"
    check_slides_across(diagram)


def test_messages_are_never_received_before_sent(traces):
    for name, ordered in traces.items():
        diagram = build_diagram(ordered, RenderOptions(fold=False))
        for arrow in diagram.arrows:
            assert arrow.dst_row >= arrow.src_row, f"{name}: {arrow.id}"
            assert diagram.rows[arrow.dst_row].y >= diagram.rows[arrow.src_row].y


def test_font_size_scales_the_slides(traces):
    small = build_diagram(traces["pipe3"], RenderOptions())
    large = build_diagram(traces["pipe3"], RenderOptions(font_size=18))
    assert smallest_text_px(small) >= MIN_TEXT_PX
    assert smallest_text_px(large) >= 36 - 0.01, "18 pt on a 960-point slide is 36 px at 1920 × 1080"
    assert len(large.pages) >= len(small.pages)


def test_a_small_diagram_fills_its_slide(traces):
    """Enlarged, yet with the legend's room left under it (a one-slide deck once had no legend at all)."""
    diagram = build_diagram(traces["pipe1"], RenderOptions())
    assert len(diagram.pages) == 1 and diagram.pages[0].scale > 1.05, "pipe1 is enlarged, not left in a corner"
    assert diagram.pages[0].legend, "and its one slide has the legend"


def test_slides_are_filled_before_the_next_and_endings_go_with_an_exchange(traces):
    """Every scenario's slides as `ipctrace run` draws them: no slide but the last mostly empty, and no short
    last slide of processes ending alone (pipe3's sleep and exits once were)."""
    for name, ordered in sorted(traces.items()):
        diagram = build_diagram(ordered, RenderOptions())
        # echo_storeserv's two clients interleave differently every run: a page between a full one and a message
        # as tall as a page may be left with what no clean break could move (22% in one run in 40, 34 rows)
        for page in diagram.pages[:-1] if name != "echo_storeserv" else ():
            assert page_fill(page) >= 0.5, f"{name}: slide {page.number} is {page_fill(page):.0%} full"
        last = diagram.pages[-1]
        short = page_fill(last) < 0.2  # the rows before it may fill more than a slide: it cannot always be half
        assert last.number == 1 or not (short and only_endings(diagram, last)), f"{name}: a last slide of endings"


def test_a_short_last_slide_of_endings_takes_rows_from_the_one_before():
    """A recorded echo_storeserv run whose last 19 rows (calls, prints, exits: nothing between processes) were
    2 pt too tall for one slide: the last slide once held one call and the server's exit (11%)."""
    from ipctrace.order import analyse
    from ipctrace.tracefile import read_trace

    ordered = analyse(read_trace(Path(__file__).parent / "traces" / "echo_storeserv_last_slide_of_two_endings.jsonl"))
    diagram = build_diagram(ordered, RenderOptions())
    *pages, last = diagram.pages
    assert only_endings(diagram, last) and page_fill(last) >= 0.2, f"the last slide is {page_fill(last):.0%} full"
    assert all(page_fill(page) >= 0.5 for page in pages), [f"{page_fill(p):.0%}" for p in pages]
    check_diagram(diagram, ordered)


def test_small_examples_take_one_slide_and_pipe3_keeps_its_reply_with_the_endings(traces):
    """A short example is one slide; pipe3 (520 pt of rows, 456 fit on a slide at 28 px) takes two, and its
    second holds the reply with the sleep and the exits — in a recorded run whose child printed while the
    parent started its sleep (one band), they once stood alone on slide 2."""
    from pathlib import Path

    from ipctrace.order import analyse
    from ipctrace.tracefile import read_trace

    for name in ("pipe1", "pipe2_nosleep", "socketpair_single"):
        assert len(build_diagram(traces[name], RenderOptions()).pages) == 1, name
    recorded = analyse(read_trace(Path(__file__).parent / "traces" / "pipe3_sleep_beside_the_output.jsonl"))
    for ordered in (traces["pipe3"], recorded):
        _pipe3_slides(build_diagram(ordered, RenderOptions()))


def _pipe3_slides(diagram) -> None:
    first, last = diagram.pages
    assert page_fill(first) >= 0.6, f"pipe3's first slide is {page_fill(first):.0%} full"
    messages = [a for a in diagram.arrows if a.kind.carries_data and last.has_row(a.src_row)]
    assert len(messages) == 1 and last.has_row(messages[0].dst_row), "the reply is drawn whole on the last slide"
    assert any(a.src_row < first.row1 for a in diagram.arrows if a.kind.carries_data), "the question on the first"


def test_page_rows_limits_each_page(traces):
    diagram = build_diagram(traces["tcp_chat"], RenderOptions(page_rows=6))
    assert all(p.row1 - p.row0 <= 6 for p in diagram.pages)
    check_diagram(diagram, traces["tcp_chat"])


# -- what the textbook figures show -----------------------------------------------------------------------


def test_pipe3_reads_like_the_textbook(traces):
    diagram = build_diagram(traces["pipe3"], RenderOptions())
    titles = [lane.title for lane in diagram.lanes]
    assert titles == ["main", "child of main"]
    child = diagram.lanes[1]
    fork = next(a for a in diagram.arrows if a.kind is ArrowKind.FORK)
    assert child.first_row == fork.src_row, "the child's lifeline begins at the parent's fork()"
    labels = [a.label for a in diagram.arrows if a.kind is ArrowKind.MSG]
    assert labels == ["'Who are you?\\0'", "'Thank you for your message\\0'"]
    assert {b.kind for b in diagram.bars} >= {BarKind.WAIT, BarKind.SLEEP}
    assert all(lane.end is not None and lane.end.text == "exit 0" for lane in diagram.lanes)
    assert any("Parent proc output" in line.text for note in diagram.notes for line in note.lines)


def _printed_lines(diagram) -> list[str]:
    """Every printed line the notes show, its wrapped rows joined again (a typed answer after its ⌨)."""
    lines: list[str] = []
    for note in diagram.notes:
        for row in note.lines:
            text = note_text(row).plain
            if row.continued and lines:
                lines[-1] = f"{lines[-1]} {text}"
            else:
                lines.append(text)
    return lines


def test_a_printed_line_longer_than_a_note_row_wraps_and_is_shown_whole(traces):
    """tcp_chat's server prints `Waiting for a connection...` (27 characters): it was cut one row long
    (`Waiting for a connection.…`), which reads as a typo on the first slide; it wraps now."""
    kernel = build_diagram(traces["tcp_chat"], RenderOptions(view=View.KERNEL))  # narrower notes: three rows
    assert "Connection established with client." in _printed_lines(kernel), _printed_lines(kernel)
    diagram = build_diagram(traces["tcp_chat"], RenderOptions())
    printed = _printed_lines(diagram)
    for line in ("Waiting for a connection...", "Connection established with client."):
        assert line in printed, printed
    assert any(line.startswith("Server: ⌨ Hi client, this is the server") for line in printed), printed
    rows = [row for note in diagram.notes for row in note.lines]
    assert any(row.continued for row in rows), "nothing wrapped: the lines are short enough, the test tests nothing"
    limit = max(len(note_text(row).plain) for row in rows if not row.typed)
    assert all(len(line) <= ROWS_A_LINE * (limit + 1) for line in printed)  # wrapped onto ROWS_A_LINE rows at most
    pairs = [(a.text, b.text) for note in diagram.notes for a, b in itertools.pairwise(note.lines) if b.continued]
    assert ("Server: Hi client,", "this is the server.") in pairs, "two rows as even as the spaces allow"
    text = render_format(traces["tcp_chat"], "text", RenderOptions())
    assert isinstance(text, str)
    assert "“Waiting for a connection...”" in text and "Waiting for a ⏎" not in text


def test_a_very_long_printed_line_is_three_rows_cut_with_an_ellipsis(tmp_path):
    """A program printing one 300,000-character line: its note is ROWS_A_LINE rows, the last cut."""
    program = tmp_path / "long_line.py"
    program.write_text("print('word ' * 60000, flush=True)\n", encoding="utf-8")
    result = run_scenario(
        adhoc_scenario([sys.executable, str(program)]), RunOptions(outdir=tmp_path / "out", capture="none")
    )
    assert result.ok, result.message
    diagram = build_diagram(order(link(result.trace)), RenderOptions())
    (note,) = [n for n in diagram.notes if n.lines[0].kind is NoteKind.OUT]
    assert len(note.lines) == ROWS_A_LINE and all(row.continued for row in note.lines[1:])
    assert note.lines[0].text.startswith("word word") and note.lines[-1].text.endswith("…")


def test_title_caption_and_no_pids(traces):
    diagram = build_diagram(traces["pipe3"], RenderOptions())
    trace = traces["pipe3"].trace
    assert diagram.title == trace.header.title and "pipe" in diagram.title.lower() and diagram.title != "pipe3"
    assert diagram.caption == trace.header.lesson and diagram.caption
    assert all("pid" not in " ".join(head_lines(lane)) for lane in diagram.lanes), (
        "pids change every run: off by default"
    )
    with_pids = build_diagram(traces["pipe3"], RenderOptions(pids=True, title="Two pipes", caption=""))
    assert all(head_lines(lane) == (lane.subtitle, f"pid {lane.pid}") for lane in with_pids.lanes)
    assert with_pids.title == "Two pipes" and with_pids.caption == ""


@pytest.fixture(scope="module")
def storeserv(tmp_path_factory):
    return some_runs(tmp_path_factory, ["echo_storeserv"])["echo_storeserv"]


def test_pids_go_on_a_third_head_line_and_leave_the_text_as_large(storeserv):
    """With --pids each process's head says its pid on a line of its own, under the subtitle: on the subtitle's
    line (`parent process · pid 16185`) it widened echo_storeserv's heads, so its slides were scaled down and
    its smallest text went from 28.0 to 23.1 px."""
    plain = build_diagram(storeserv, RenderOptions())
    with_pids = build_diagram(storeserv, RenderOptions(pids=True))
    processes = [lane for lane in with_pids.lanes if lane.kind is LaneKind.PROCESS]
    assert len(processes) >= 5 and all(lane.detail == f"pid {lane.pid}" for lane in processes)
    assert all(not lane.detail for lane in with_pids.lanes if lane.kind is not LaneKind.PROCESS)
    assert [lane.subtitle for lane in with_pids.lanes] == [lane.subtitle for lane in plain.lanes]
    assert all(not lane.detail and "pid" not in lane.subtitle for lane in plain.lanes)
    m = with_pids.metrics
    for lane, before in zip(with_pids.lanes, plain.lanes, strict=True):
        taller = m.line if lane.detail else 0.0
        assert head_size(lane, m).h == pytest.approx(head_size(before, m).h + taller), lane.title
    assert smallest_text_px(plain) == pytest.approx(MIN_TEXT_PX)
    assert smallest_text_px(with_pids) == pytest.approx(smallest_text_px(plain)), "the pids leave the text as large"


def test_pipe3s_parent_is_drawn_ending_after_the_child_read_and_printed(traces):
    """The parent sleeps 3 s and exits: its sleep's end and its exit are drawn below the child's read and output."""
    ordered = traces["pipe3"]
    trace = ordered.trace
    for view in VIEWS:
        diagram = build_diagram(ordered, RenderOptions(view=view))
        child = next(lane.id for lane in diagram.lanes if lane.title == "child of main")
        parent = next(lane.id for lane in diagram.lanes if lane.title == "main")
        rows = [r for r in diagram.rows if isinstance(r.keys[0], EventKey)]
        child_read = max(r.index for r in rows if r.lane == child and trace.event(r.keys[0]).call is Call.READ)
        child_output = max(r.index for r in rows if r.lane == child and r.kind is RowKind.OUTPUT)
        parent_exit = next(r.index for r in rows if r.lane == parent and r.kind is RowKind.EXIT)
        sleep_end = next(
            r.index
            for r in rows
            if r.lane == parent and r.kind is RowKind.CALL and trace.event(r.keys[0]).call is Call.SLEEP
        )
        assert child_read < sleep_end < parent_exit and child_output < parent_exit, view


def test_descriptors_are_named_by_what_they_refer_to(traces):
    pipe3 = build_diagram(traces["pipe3"], RenderOptions())
    main = _calls(pipe3, "main")
    # the recorder gives each call's site, so descriptors also read as the program wrote them (fds1[1])
    assert any("pipe #1: fds1[0] = 3 read, fds1[1] = 4 write" in c for c in main), main
    assert any("pipe #2 write end" in c for c in main), main
    child = _calls(pipe3, "child of main")
    assert any(c.startswith("write(fds1[1])") and "pipe #1 write end" in c for c in child), child
    server = _calls(build_diagram(traces["tcp_hello"], RenderOptions()), "server")
    assert any("listening socket :" in c for c in server), server
    assert any("connection to client 127.0.0.1:" in c for c in server), server
    pair = _calls(build_diagram(traces["socketpair_single"], RenderOptions()), "main")
    assert any("socketpair #1: end 0 = sd[0] = 3, end 1 = sd[1] = 4" in c for c in pair), pair


def test_after_fork_the_kernel_view_shows_who_holds_what(traces):
    diagram = build_diagram(traces["pipe1"], RenderOptions(view=View.KERNEL))
    holds = [n for n in diagram.notes if n.lines[0].kind is NoteKind.FDS]
    assert len(holds) == 1
    text = [line.text for line in holds[0].lines]
    assert "after fork both hold:" in text[0]
    assert any("pipe #1 read end" in t for t in text) and any("pipe #1 write end" in t for t in text)


def test_datagrams_carry_their_addresses(traces):
    for name in ("udp_hello", "unix_dgram"):
        diagram = build_diagram(traces[name], RenderOptions())
        messages = [a for a in diagram.arrows if a.kind is ArrowKind.MSG]
        assert messages and all(" → " in a.detail for a in messages), [a.detail for a in messages]
        kernel = build_diagram(traces[name], RenderOptions(view=View.KERNEL))
        legs = [a for a in kernel.arrows if a.kind in (ArrowKind.IN, ArrowKind.OUT)]
        assert legs and all(("to " if a.kind is ArrowKind.IN else "from ") in a.detail for a in legs), [
            a.detail for a in legs
        ]
    udp = traces["udp_hello"]
    if udp.trace.packets:
        packets = build_diagram(udp, RenderOptions(view=View.PACKETS))
        datagrams = [a for a in packets.arrows if a.kind is ArrowKind.PACKET]
        assert datagrams and all(":" in a.detail and "→" in a.detail for a in datagrams)


def test_expected_endings_are_drawn_as_expected(traces):
    diagram = build_diagram(traces["udp_file"], RenderOptions())
    server = next(lane for lane in diagram.lanes if lane.title == "server")
    assert server.end is not None and server.end.kind is EndKind.EXPECTED
    assert server.end.text == "blocked forever in recvfrom"
    assert "UDP has no end of file" in server.end.note and not server.end.crashed
    assert "expected" in diagram.ending
    nosleep = build_diagram(traces["pipe2_nosleep"], RenderOptions())
    assert any(lane.end is not None and lane.end.kind is EndKind.EXPECTED for lane in nosleep.lanes)


def test_blocked_at_the_end_is_open(traces):
    diagram = build_diagram(traces["pipe2_nosleep"], RenderOptions())
    assert any(b.kind is BarKind.OPEN for b in diagram.bars)
    assert any(lane.open_end for lane in diagram.lanes)


def test_kernel_view_has_a_lane_per_pipe(traces):
    diagram = build_diagram(traces["pipe3"], RenderOptions(view="kernel"))
    assert [lane.title for lane in diagram.lanes if lane.kind is LaneKind.CHANNEL] == ["pipe #1", "pipe #2"]
    assert any(b.kind is BarKind.HELD for b in diagram.bars), "bytes waiting in the pipe are visible"


def test_echo_storeserv_folds_a_clients_repeated_exchange():
    """A client's lines echoed and stored one after another fold into one round with its count.

    A recorded run: in about one live run in ten the two clients' rounds interleave unevenly and nothing
    repeats exactly, so there is nothing to fold.
    """
    from ipctrace.order import analyse
    from ipctrace.tracefile import read_trace

    ordered = analyse(read_trace(Path(__file__).parent / "traces" / "echo_storeserv_reaped_after_a_wait.jsonl"))
    (fold,) = build_diagram(ordered, RenderOptions()).folds
    assert fold.detail.startswith("6 times: client1's writer → handler for client1, handler for client1 → client1")
    assert not build_diagram(ordered, RenderOptions(fold=False)).folds


def test_echo_storeserv_names_roles_by_what_they_do(traces):
    diagram = build_diagram(traces["echo_storeserv"], RenderOptions())
    titles = {lane.title for lane in diagram.lanes}
    assert {"server", "pipe #1 reader", "handler for client1", "handler for client2"} <= titles, titles
    assert {"client1's writer", "client2's writer"} <= titles, titles
    handler = [c for c in diagram.calls if c.handler]
    assert handler and any("waitpid" in c.text and c.handler == "SIGCHLD" for c in handler)
    assert all(" → " in f.detail and "times:" in f.detail for f in diagram.folds)  # a run may not repeat evenly
    columns = {lane.column for lane in diagram.lanes}
    assert len(columns) < len(diagram.lanes), "a server's successive handlers share one column"
    assert any(c.kind is CallKind.INTERRUPTED for c in diagram.calls), "the SystemExit of the stopped server"


# -- packets ------------------------------------------------------------------------------------------


def _needs_packets(ordered):
    if not ordered.trace.packets:
        need(False, f"packet capture ({can_capture()})")


def test_packets_view_ties_the_wire_to_the_calls(traces):
    ordered = traces["tcp_hello"]
    _needs_packets(ordered)
    diagram = build_diagram(ordered, RenderOptions(view="packets"))
    packets = [a for a in diagram.arrows if a.kind is ArrowKind.PACKET]
    labels = [a.label for a in packets]
    assert labels[:3] == ["SYN", "SYN, ACK", "ACK"]
    assert any("FIN" in label for label in labels)
    client = next(lane for lane in diagram.lanes if lane.title == "client")
    connect_enter = next(
        c.row
        for c in diagram.calls
        if c.lane == client.id and c.kind is CallKind.ENTER and c.text.startswith("connect")
    )
    connect_return = next(c.row for c in diagram.calls if c.lane == client.id and c.text.startswith("connect returns"))
    assert connect_enter < packets[0].src_row, "connect is called before its SYN"
    assert packets[1].src_row < connect_return, "connect returns after the SYN-ACK"
    server = next(lane for lane in diagram.lanes if lane.title == "server")
    accept = next(c.row for c in diagram.calls if c.lane == server.id and c.text.startswith("accept →"))
    assert packets[2].src_row < accept, "accept returns after the handshake's ACK"
    assert diagram.together, "the handshake and the teardown are kept on one page"


def test_packets_data_keeps_handshake_and_teardown_whole(traces):
    ordered = traces["tcp_hello"]
    _needs_packets(ordered)
    every = build_diagram(ordered, RenderOptions(view="packets"))
    thin = build_diagram(ordered, RenderOptions(view="packets", packets="data"))
    labels = [a.label for a in thin.arrows if a.kind is ArrowKind.PACKET]
    assert labels[:3] == ["SYN", "SYN, ACK", "ACK"], "the handshake's last ACK stays"
    assert labels[-1] == "ACK" and "FIN" in labels[-2], "the ACK of the last FIN stays"
    assert labels.count("ACK") < [a.label for a in every.arrows if a.kind is ArrowKind.PACKET].count("ACK")
    none = build_diagram(ordered, RenderOptions(view="packets", packets="none"))
    assert not [a for a in none.arrows if a.kind is ArrowKind.PACKET]


# -- folding ------------------------------------------------------------------------------------------


def test_thousand_exchanges_fold_into_one_loop(loop_trace):
    diagram = build_diagram(loop_trace, RenderOptions())
    assert [f.count for f in diagram.folds] == [1000]
    fold = diagram.folds[0]
    assert fold.row1 - fold.row0 < 8, "one iteration is drawn, not a thousand"
    assert len(diagram.rows) < 40
    assert len(fold.flows) == 2000 and len(diagram.folded_flows) == 1998
    assert fold.label == "loop × 1,000" and fold.detail.startswith("1,000 times: ")
    check_diagram(diagram, loop_trace)
    unfolded = build_diagram(loop_trace, RenderOptions(fold=False))
    assert not unfolded.folds and len(unfolded.rows) > 4000


# -- text ---------------------------------------------------------------------------------------------


def test_payloads_are_text_where_they_are_text():
    assert show_text("안녕하세요\n".encode()) == "'안녕하세요\\n'"
    assert show_text(b"Who are you?\0") == "'Who are you?\\0'"
    assert show_text(b"\xff\xfeok") == "'\\xff\\xfeok'", "invalid UTF-8 is escaped byte by byte"
    assert show_text("가".encode()[:2]) == "'\\xea\\xb0'", "a character cut off by a cap stays visible"
    assert show_text(b"\x07bell\ttab") == "'\\x07bell\\ttab'"
    assert show_text(b"a" * 50, 10) == "'aaaaaaaaaa…'"
    assert show_text(b"abc", 10, complete=False) == "'abc…'"


def test_a_korean_chat_shows_hangul_on_the_arrow(tmp_path_factory):
    ordered = korean_chat_run(tmp_path_factory)
    diagram = build_diagram(ordered, RenderOptions())
    labels = [a.label for a in diagram.arrows if a.kind is ArrowKind.MSG]
    assert "'안녕하세요\\n'" in labels and "'반가워요\\n'" in labels, labels
    check_diagram(diagram, ordered)


def test_korean_labels(traces):
    need(korean_font() is not None, "a Korean font (apt-get install fonts-nanum)")
    diagram = build_diagram(traces["pipe3"], RenderOptions(lang="ko"))
    subtitles = {lane.subtitle for lane in diagram.lanes}
    assert {"부모 프로세스", "자식 프로세스"} <= subtitles and "main의 자식" in {lane.title for lane in diagram.lanes}
    assert all(lane.end is not None and lane.end.text == "종료 0" for lane in diagram.lanes)
    assert any("sleep 반환" in c.text for c in diagram.calls), "a call that waited returns in Korean too"
    kernel = build_diagram(traces["pipe3"], RenderOptions(lang="ko", view="kernel"))
    assert "파이프 #1" in {lane.title for lane in kernel.lanes}
    udp = build_diagram(traces["udp_file"], RenderOptions(lang="ko"))
    assert any(lane.end is not None and "영원히 대기" in lane.end.text for lane in udp.lanes)


def test_missing_korean_font_says_how_to_fix(traces, monkeypatch):
    import ipctrace.render.i18n as i18n

    monkeypatch.setattr(i18n, "korean_font", lambda: None)
    with pytest.raises(RenderError, match="apt-get install fonts-nanum"):
        build_diagram(traces["pipe3"], RenderOptions(lang="ko"))


def test_bad_options_are_one_sentence():
    with pytest.raises(RenderError, match="choose one of processes, kernel, packets"):
        RenderOptions(view="wire")
    with pytest.raises(RenderError, match="font size 99 is out of range"):
        RenderOptions(font_size=99)


def test_render_is_linear_enough_for_a_long_unfolded_run(tmp_path):
    """Smoke check on a real run with pipes both ways (benchmarks/rendering.py measures the scaling)."""
    scenario = adhoc_scenario([sys.executable, str(PROGRAMS / "render_loop.py"), "50"])
    result = run_scenario(scenario, RunOptions(outdir=tmp_path, capture="none", port=0))
    ordered = order(link(result.trace))
    diagram = build_diagram(ordered, RenderOptions(fold=False))
    check_diagram(diagram, ordered)
    assert sum(1 for r in diagram.rows if r.kind is RowKind.CALL) > 200


# -- the program's own words ------------------------------------------------------------------------


def _line_of(path, text: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if text in line:
            return number
    raise AssertionError(f"{text!r} not in {path}")


def test_call_sites_name_descriptors_as_the_program_does():
    """The recorder's call site (file, line) of an event, read back from the program's source."""
    from pathlib import Path

    from ipctrace.calls import Call
    from ipctrace.model import CallSite as Site
    from ipctrace.render.layout.sources import read_site

    programs = Path(__file__).resolve().parents[1] / "reference_programs"
    cases = [
        ("pipe3.py", "os.write(fds1[1]", Call.WRITE, "fds1[1]", ()),
        ("pipe3.py", "fds1 = os.pipe()", Call.PIPE, None, ("fds1",)),
        ("socketpair_fork.py", "os.read(sd[0].fileno()", Call.READ, "sd[0]", ()),
        ("echo_storeserv.py", "serv_sock.accept()", Call.ACCEPT, "serv_sock", ("clnt_sock",)),
        ("echo_storeserv.py", "os.read(clnt_sock.fileno()", Call.READ, "clnt_sock", ()),
    ]
    for name, text, call, fd, created in cases:
        path = programs / name
        words = read_site(Site(str(path), _line_of(path, text)), call)
        assert (words.fd, words.created) == (fd, created), (name, text, words)
    assert read_site(Site(str(programs / "pipe3.py"), 1), Call.WRITE).fd is None, (
        "a line without the call names nothing"
    )
    assert read_site(None, Call.WRITE).fd is None


@pytest.mark.parametrize(
    "recorded",
    [
        # the handler started reading after its client's writer had ended: five messages in flight over several
        # slides, whose crossings pushed bands down ×4 a round (millions of points tall, 26 pages, arrows cut)
        "echo_storeserv_late_reader.jsonl",
        # the pipe reader was reaped by a waitpid that had waited: its bare label kept '(exit 0)', too wide
        "echo_storeserv_reaped_after_a_wait.jsonl",
        # a client's line read 454 pt further down than it was sent, where a later page holds 442 pt of rows:
        # the pagination cuts it (as any message taller than a page), and the check counted it split
        "echo_storeserv_reply_taller_than_a_page.jsonl",
        # the server's exit alone on the last unfolded slide: the page before was full, and the only other
        # clean break left a page of the lanes' own calls, which counted as badly as a page of exits
        "echo_storeserv_server_exit_alone.jsonl",
        # two clients' messages overlapping one after another over 605 pt: no break between them is clean, so the
        # pagination cuts one (the fewest it can), and the check took it for a message split needlessly
        "echo_storeserv_clients_chained_past_a_page.jsonl",
        # a line read 10 rows after it was sent, overlapping an EOF hint to 457 pt where a page holds 442: the
        # pagination cuts it, and the check began the chain at a shorter message of the same band, a row later
        "echo_storeserv_chain_begins_with_a_long_message.jsonl",
    ],
)
def test_recorded_runs_that_once_broke_the_slides_give_whole_readable_pages(recorded):
    """Real echo_storeserv runs, kept because their timing once broke a slide invariant."""
    from pathlib import Path

    from ipctrace.order import analyse
    from ipctrace.tracefile import read_trace

    ordered = analyse(read_trace(Path(__file__).parent / "traces" / recorded))
    for view in VIEWS:
        for fold in (True, False):
            check_diagram(build_diagram(ordered, RenderOptions(view=view, fold=fold)), ordered)


def test_c_call_sites_name_descriptors_as_the_c_source_does():
    """The native recorder's sites are lines of the C originals: read the same way, without a C parser."""
    from dataclasses import dataclass as record
    from pathlib import Path

    from ipctrace.calls import Call
    from ipctrace.render.layout.sources import read_site

    @record(frozen=True)
    class Site:
        file: str
        line: int

    programs = Path(__file__).resolve().parents[1] / "reference_programs" / "c"
    cases = [
        ("pipe3.c", "write(fds1[1]", Call.WRITE, "fds1[1]", ()),
        ("pipe3.c", "read(fds2[0]", Call.READ, "fds2[0]", ()),
        ("socketpair_fork.c", "result = socketpair(", Call.SOCKETPAIR, None, ("sd",)),
        ("echo_storeserv.c", "pipe(fds);", Call.PIPE, None, ("fds",)),
        ("echo_storeserv.c", "serv_sock=socket(", Call.SOCKET, None, ("serv_sock",)),
        ("echo_storeserv.c", "clnt_sock=accept(", Call.ACCEPT, "serv_sock", ("clnt_sock",)),
        ("echo_storeserv.c", "while((str_len=read(clnt_sock", Call.READ, "clnt_sock", ()),
        ("tcp_chat_client.c", "if ((sock = socket(", Call.SOCKET, None, ("sock",)),
        ("tcp_chat_server.c", "(new_socket = accept(server_fd,", Call.ACCEPT, "server_fd", ("new_socket",)),
        ("tcp_chat_server.c", "send(new_socket, buffer", Call.SEND, "new_socket", ()),
    ]
    for name, text, call, fd, created in cases:
        path = programs / name
        words = read_site(Site(str(path), _line_of(path, text)), call)
        assert (words.fd, words.created) == (fd, created), (name, text, words)
    both = programs / "pipe3.c"
    assert read_site(Site(str(both), _line_of(both, "pipe(fds1), pipe(fds2);")), Call.PIPE).created == (), (
        "two pipes on one line: which one an event is cannot be told from a line"
    )
    server = programs / "tcp_chat_server.c"
    assert read_site(Site(str(server), _line_of(server, "int read_bytes = read(")), Call.WRITE).fd is None, (
        "a line without the call names nothing"
    )


@pytest.mark.parametrize("view", [View.KERNEL, View.PACKETS])
def test_every_lane_window_draws_its_calls(view):
    """Each slide's drawing holds every call label of its rows on its lanes: the left window of a slide cut
    by lanes once drew its lifelines only (its items went to the right window, which shares its rows)."""
    from ipctrace.order import analyse
    from ipctrace.render.graphviz.painter import page_sources
    from ipctrace.tracefile import read_trace

    ordered = analyse(read_trace(RECORDED / "echo_storeserv_two_connections_at_once.jsonl"))
    diagram = build_diagram(ordered, RenderOptions(view=view))
    windows = [(p.row0, p.row1) for p in diagram.pages]
    assert len(windows) > len(set(windows)), "some slides are cut into lane windows"
    for page, source in zip(diagram.pages, page_sources(diagram), strict=True):
        lanes = {p.lane for p in page.lanes}
        wanted = [n for n, c in enumerate(diagram.calls) if c.lane in lanes and page.has_row(c.row)]
        missing = [n for n in wanted if f'id="call-{n}"' not in source]
        assert not missing, f"slide {page.number} lacks calls {missing}"


def test_slides_cut_one_by_one_leave_room_for_labels():
    """Three children answering over socketpairs, each message labelled wider than the lane heads: the kernel
    and packets views are too wide for one cut, and each slide's packed columns keep what stands beside them
    apart (a packing by the heads alone put a bar through a message label). Recorded: no capture."""
    from ipctrace.order import analyse
    from ipctrace.tracefile import read_trace

    ordered = analyse(read_trace(RECORDED / "compare_interleave_labels_wider_than_heads.jsonl"))
    for view in (View.KERNEL, View.PACKETS):
        for fold in (True, False):
            diagram = build_diagram(ordered, RenderOptions(view=view, fold=fold))
            assert diagram.width > 940 and smallest_text_px(diagram) >= MIN_TEXT_PX - 0.01
            check_diagram(diagram, ordered)
            check_slides_across(diagram)
