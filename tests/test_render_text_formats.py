"""Mermaid, PlantUML and the text timeline: valid, in the causal order, drawn by the real tools.

The Mermaid and PlantUML files of every scenario and view are parsed back and
checked against the layout (statement by statement, in causal order), then
rendered by Debian's `plantuml` and by `mmdc` (@mermaid-js/mermaid-cli with
Debian's chromium); `.ci/install-ci-tools.sh` installs both for CI.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from ipctrace.render import RenderOptions, build_diagram, get_renderer
from ipctrace.render.layout import Diagram
from ipctrace.render.layout.script import Statement, script
from ipctrace.render.mermaid import mermaid_text
from ipctrace.render.plantuml import plantuml_text
from ipctrace.render.text import timeline
from tests.render_support import VIEWS, check_no_overlaps, korean_chat_run, loop_run, need, scenario_runs


@pytest.fixture(scope="module")
def traces(tmp_path_factory):
    runs = dict(scenario_runs(tmp_path_factory))
    runs["render_loop"] = loop_run(tmp_path_factory)
    return runs


_MERMAID_LINE = re.compile(
    r"^(%%\{init: \{'theme': '\w+'\}\}%%|sequenceDiagram|title .+|participant L\d+ as .+|create participant L\d+ as .+"
    r"|(activate|deactivate) L\d+|loop .+|end|L\d+(->>|-->>|-x)L\d+: .+|Note (left of|right of|over) L\d+: .+)$"
)


def _mermaid_statements(text: str) -> list[str]:
    """A strict check of the subset ipctrace writes; returns the statements after the declarations."""
    lines = [line.strip() for line in text.splitlines()]
    assert lines[1] == "sequenceDiagram"
    declared: set[str] = set()
    depth = 0
    active: dict[str, int] = {}
    for line in lines:
        assert _MERMAID_LINE.match(line), f"not a Mermaid statement: {line!r}"
        assert ";" not in re.sub(r"#\w+;", "", line.replace("%%{init", "")), f"a bare ; ends a statement: {line!r}"
        if m := re.match(r"(?:create )?participant (L\d+) as", line):
            declared.add(m.group(1))
            continue
        for ref in re.findall(r"\bL\d+\b", line):
            assert ref in declared, f"{ref} used before it is declared"
        if line.startswith("loop "):
            depth += 1
            assert not line.startswith("loop loop"), line
        elif line == "end":
            depth -= 1
            assert depth >= 0
        elif line.startswith(("activate", "deactivate")):
            who = line.split()[1]
            active[who] = active.get(who, 0) + (1 if line.startswith("activate") else -1)
            assert active[who] >= 0, f"deactivate of an inactive {who}"
    assert depth == 0
    return lines


def _check_order(diagram: Diagram, mermaid_parts: tuple[str, ...]) -> None:
    """Each lane's notes appear in its rows' order; each message after its sender's call and before its reader's."""
    ids = {f"L{i}": lane.id for i, lane in enumerate(diagram.lanes)}
    parts = script(diagram)
    assert len(parts) == len(mermaid_parts) == len({(p.row0, p.row1) for p in diagram.pages}), "one part a page"
    for part, text in zip(parts, mermaid_parts, strict=True):
        lines = _mermaid_statements(text)
        said = [line for line in lines if line.startswith(("Note ", "L"))]
        expected = []
        for item in part.items:
            if item.kind is Statement.NOTE:
                expected.append(("note", item.lane, "<br/>".join(mermaid_text(x) for x in item.lines)))
            elif item.kind is Statement.MESSAGE:
                expected.append(("message", item.lane, mermaid_text(item.lines[0])))
        got = []
        for line in said:
            if m := re.match(r"Note (?:left of|right of) (L\d+): (.*)$", line):
                got.append(("note", ids[m.group(1)], m.group(2)))
            elif m := re.match(r"(L\d+)(?:->>|-->>|-x)L\d+: (.*)$", line):
                got.append(("message", ids[m.group(1)], m.group(2)))
        assert got == expected, "the Mermaid file states the layout's rows in their causal order"
    rows_said = [item.row for part in parts for item in part.items]
    assert rows_said == sorted(rows_said), "statements follow the rows top to bottom"
    for arrow in diagram.arrows:
        assert arrow.src_row <= arrow.dst_row


def test_mermaid_and_plantuml_follow_the_causal_order(traces):
    for name, ordered in traces.items():
        for view in VIEWS:
            diagram = build_diagram(ordered, RenderOptions(view=view))
            mermaid = get_renderer("mermaid").render(diagram)
            try:
                _check_order(diagram, mermaid)  # type: ignore[arg-type]
            except AssertionError as exc:
                raise AssertionError(f"{name}, {view} view: {exc}") from None
            puml = get_renderer("plantuml").render_one(diagram)
            assert isinstance(puml, str)
            assert puml.count("@startuml") == puml.count("@enduml") == len(script(diagram))


def test_the_text_formats_keep_the_call_labels_and_the_waits(traces):
    diagram = build_diagram(traces["pipe3"], RenderOptions())
    mermaid = "".join(get_renderer("mermaid").render(diagram))  # type: ignore[arg-type]
    puml = get_renderer("plantuml").render_one(diagram)
    for call in diagram.calls:
        assert mermaid_text(call.text) in mermaid and plantuml_text(call.text) in puml  # type: ignore[operator]
    assert "activate" in mermaid and "deactivate" in mermaid
    assert re.search(r"^\s*activate L\d+$", puml, re.M)  # type: ignore[arg-type]
    loop = build_diagram(traces["render_loop"], RenderOptions())
    text = "".join(get_renderer("mermaid").render(loop))  # type: ignore[arg-type]
    assert "loop 1,000 times: " in text and "loop loop" not in text


def test_themes_reach_the_text_formats(traces):
    dark = build_diagram(traces["pipe3"], RenderOptions(theme="dark"))
    assert "'theme': 'dark'" in get_renderer("mermaid").render(dark)[0]  # type: ignore[operator]
    puml = get_renderer("plantuml").render_one(dark)
    assert "skinparam backgroundColor #0d1117" in puml and "skinparam defaultFontColor #e6edf3" in puml  # type: ignore[operator]


def test_a_korean_chat_in_the_text_formats(tmp_path_factory):
    diagram = build_diagram(korean_chat_run(tmp_path_factory), RenderOptions())
    assert "안녕하세요" in "".join(get_renderer("mermaid").render(diagram))  # type: ignore[arg-type]
    assert "안녕하세요" in get_renderer("plantuml").render_one(diagram)  # type: ignore[operator]


# -- the real tools ---------------------------------------------------------------------------------


#: Mermaid through a browser costs about a second a diagram: every scenario's processes view, and the
#: other views (their kernel and socket participants) of a few.
_MERMAID_EVERY_VIEW = {"pipe3", "tcp_hello", "udp_hello", "echo_storeserv"}


def _every_file(traces) -> tuple[list[str], list[str]]:
    mermaid: list[str] = []
    plantuml: list[str] = []
    for name, ordered in traces.items():
        for view in VIEWS:
            diagram = build_diagram(ordered, RenderOptions(view=view))
            if view == "processes" or name in _MERMAID_EVERY_VIEW:
                mermaid.extend(get_renderer("mermaid").render(diagram))  # type: ignore[arg-type]
            plantuml.append(get_renderer("plantuml").render_one(diagram))  # type: ignore[arg-type]
    return mermaid, plantuml


@pytest.mark.slow
def test_plantuml_draws_every_file(traces, tmp_path):
    need(shutil.which("plantuml") is not None, "plantuml (apt-get install plantuml; .ci/install-ci-tools.sh)")
    _, files = _every_file(traces)
    for n, text in enumerate(files):
        (tmp_path / f"d{n:03d}.puml").write_text(text, encoding="utf-8")
    proc = subprocess.run(
        ["plantuml", "-tsvg", "-failfast2", "-nbthread", "2", str(tmp_path / "*.puml")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    images = list(tmp_path.glob("*.svg"))
    assert len(images) == sum(text.count("@startuml") for text in files), "one image per part, none cut"
    for image in images:
        assert "Syntax Error" not in image.read_text(encoding="utf-8", errors="replace")


@pytest.mark.slow
def test_mermaid_cli_draws_every_file(traces, tmp_path):
    need(shutil.which("mmdc") is not None, "mmdc (npm @mermaid-js/mermaid-cli; .ci/install-ci-tools.sh)")
    need(shutil.which("chromium") is not None, "chromium (apt-get install chromium; .ci/install-ci-tools.sh)")
    parts, _ = _every_file(traces)
    config = tmp_path / "puppeteer.json"
    flags = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
    config.write_text(json.dumps({"executablePath": shutil.which("chromium"), "args": [*flags, "--disable-sync"]}))
    markdown = tmp_path / "all.md"
    markdown.write_text("".join(f"```mermaid\n{text}```\n\n" for text in parts), encoding="utf-8")
    proc = subprocess.run(
        ["mmdc", "-p", str(config), "-i", str(markdown), "-o", str(tmp_path / "out.md"), "-q"],
        capture_output=True,
        text=True,
        timeout=900,
        env={"PUPPETEER_SKIP_DOWNLOAD": "1", "PATH": "/usr/bin:/bin:/usr/local/bin", "HOME": str(tmp_path)},
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    images = sorted(tmp_path.glob("out-*.svg"))
    assert len(images) == len(parts), "every part drawn"
    assert not [i for i in images if "Syntax error" in i.read_text(encoding="utf-8", errors="replace")]


# -- the timeline -----------------------------------------------------------------------------------


def test_text_timeline_names_endpoints_and_shows_packets(traces):
    text = timeline(traces["pipe3"].trace)
    assert "fd 4 (pipe write end)  'Who are you?\\0' (13 B)  -> 13  [pipe#1]" in text
    tcp = traces["tcp_chat"].trace
    if tcp.packets:
        lines = timeline(tcp).splitlines()
        syn = next(i for i, line in enumerate(lines) if "[SYN]" in line)
        connect = next(i for i, line in enumerate(lines) if " connect " in line)
        assert connect < syn, "the packet comes after the call that sent it"
        # how the kernel cuts the bytes into segments depends on timing: each one captured is a line, its length told
        pushed = [p for p in tcp.packets if p.payload]
        assert pushed, "the chat's messages were captured"
        for packet in pushed:
            assert any("[PSH, ACK]" in line and f"len={packet.length}" in line for line in lines), packet
    rows = get_renderer("text").render_one(build_diagram(traces["pipe3"], RenderOptions()))
    assert "child of main" in rows and "exit 0" in rows  # type: ignore[operator]


def test_the_timeline_explains_an_expected_ending(traces):
    text = timeline(traces["udp_file"].trace)
    assert text.rstrip().splitlines()[-1].startswith("ended as the scenario expects: Expected: UDP has no end of file")
    assert "ended as the scenario expects" not in timeline(traces["pipe3"].trace)


def test_timeline_still_prints_when_linking_fails(traces, monkeypatch):
    import ipctrace.link

    def broken(trace):
        raise ValueError("boom")

    monkeypatch.setattr(ipctrace.link, "link", broken)
    assert "pipe3" not in timeline(traces["pipe3"].trace) and "write" in timeline(traces["pipe3"].trace)


def test_the_timeline_in_chunks_is_the_timeline(traces):
    """`ipctrace show` writes the timeline chunk by chunk: the chunks joined are the very same text."""
    from ipctrace.model import Trace
    from ipctrace.render.text import timeline_chunks

    for name, run in traces.items():
        trace = run.trace
        whole = timeline(trace)
        assert whole.endswith("\n") and whole.count("\n") == len(trace.events) + len(trace.packets) + (
            2 if trace.header.ending == "expected-blocked" and trace.header.ending_note else 0
        ), name
        for size in (1, 7, 4096):
            chunks = list(timeline_chunks(trace, size))
            assert "".join(chunks) == whole, (name, size)
            assert all(c.endswith("\n") for c in chunks)
            assert len(chunks) == -(-whole.count("\n") // size), (name, size)
    empty = Trace(traces["pipe3"].trace.header, (), ())
    assert timeline(empty) == "".join(timeline_chunks(empty)) == "\n"


def test_endpoint_names_said_once_and_flows_kept_alone_are_what_they_were(traces):
    """`describe` keeps each endpoint's name after the first event that asks: the same text every time;
    `flows_of` gives every flow an event sends or receives in, in order, though a lone one is kept bare."""
    for name, run in traces.items():
        linked = run.linked
        expected_flows: dict = {}
        for f in linked.flows:
            for key in dict.fromkeys((f.send, f.recv)):
                expected_flows.setdefault(key, []).append(f)
        for event in run.trace.events:
            expected = (
                ""
                if event.endpoint is None
                else linked.describe_endpoint(event.endpoint, linked.pipe_ends.get(event.key))
            )
            assert linked.describe(event) == expected == linked.describe(event.key), (name, event.key)
            flows = tuple(expected_flows.get(event.key, ()))
            assert linked.flows_of(event.key) == flows and type(linked.flows_of(event.key)) is tuple, name


def test_escaping_takes_the_short_way_only_when_nothing_changes():
    """Text with nothing to escape is returned as it is; anything else character by character, as before."""
    from ipctrace.render.labels import _ESCAPES, _escaped

    def by_character(text: str) -> str:
        out = []
        for ch in text:
            if ch in _ESCAPES:
                out.append(_ESCAPES[ch])
            elif ch.isprintable():
                out.append(ch)
            else:
                out.append(f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")
        return "".join(out)

    samples = ["Who are you?", "안녕하세요", "it's", "a\\b", "tab\there", "nul\0", "\x7f", "\u200b", "", "line\n"]
    for text in samples:
        assert _escaped(text) == by_character(text), text
    assert _escaped("plain text") is not None and _escaped("it's") == "it\\'s"


def test_a_peeking_receive_says_so_in_the_diagram_and_the_timeline(tmp_path):
    """recv(4, MSG_PEEK) leaves the bytes in the socket: without the flag the two receives read the same."""
    import sys

    from ipctrace.order import analyse
    from ipctrace.scenarios import adhoc_scenario
    from ipctrace.session import RunOptions, run_scenario

    program = tmp_path / "peek.py"
    program.write_text(
        "import socket\na, b = socket.socketpair()\na.send(b'ping')\n"
        "print(b.recv(4, socket.MSG_PEEK))\nprint(b.recv(4))\n"
    )
    result = run_scenario(
        adhoc_scenario([sys.executable, str(program)]), RunOptions(outdir=tmp_path / "o", capture="none")
    )
    assert result.ok, result.message
    labels = [c.text for c in build_diagram(analyse(result.trace), RenderOptions()).calls if c.text.startswith("recv")]
    assert labels == ["recv(4, MSG_PEEK) → 4", "recv(4) → 4"]
    lines = [line for line in timeline(result.trace).splitlines() if " recv " in line]
    assert len(lines) == 2 and "MSG_PEEK" in lines[0] and "MSG_PEEK" not in lines[1]


def test_a_message_sent_before_its_reader_is_forked_comes_after_the_fork():
    """A recorded echo_storeserv run: client2's writer sent its first line before the server forked client2's
    handler, which reads it; Mermaid cannot name a participant before it is created, so the message is stated
    where the handler begins (it once came first, and mmdc refused the file)."""
    from pathlib import Path

    from ipctrace.order import analyse
    from ipctrace.tracefile import read_trace

    trace = Path(__file__).parent / "traces" / "echo_storeserv_message_before_its_reader_forked.jsonl"
    ordered = analyse(read_trace(trace))
    diagram = build_diagram(ordered, RenderOptions())
    handler = next(lane for lane in diagram.lanes if lane.title == "handler for client2")
    early = [a for a in diagram.arrows if a.dst == handler.id and a.kind.value == "msg"]
    fork = next(a for a in diagram.arrows if a.dst == handler.id and a.kind.value == "fork")
    assert any(a.src_row < fork.src_row for a in early), "the recorded run has a line sent before the fork"
    _check_order(diagram, get_renderer("mermaid").render(diagram))  # type: ignore[arg-type]


@pytest.mark.parametrize("view", VIEWS)
def test_a_child_that_runs_before_its_fork_returns_begins_below_the_fork(view):
    """A recorded echo_storeserv run: the pipe reader called read before the server's fork() had returned.
    Its entry row once rose above the fork, under the lane's head, which hid the call's label; and Mermaid
    named the participant before `create participant` (mmdc: "actors with the same id")."""
    from pathlib import Path

    from ipctrace.calls import Call
    from ipctrace.order import analyse
    from ipctrace.tracefile import read_trace

    trace = read_trace(Path(__file__).parent / "traces" / "echo_storeserv_child_runs_before_its_fork_returns.jsonl")
    fork_call = next(e for e in trace.events if e.call is Call.FORK)
    first_read = next(e for e in trace.events if e.pid == fork_call.result and e.call is Call.READ)
    assert fork_call.t1 is not None and first_read.t0 < fork_call.t1, "the recorded run's timing"
    diagram = build_diagram(analyse(trace), RenderOptions(view=view))
    reader = next(lane for lane in diagram.lanes if lane.title == "pipe #1 reader")
    fork = next(a for a in diagram.arrows if a.dst == reader.id and a.kind.value == "fork")
    rows = [c.row for c in diagram.calls if c.lane == reader.id] + [b.row0 for b in diagram.bars if b.lane == reader.id]
    assert min(rows) > fork.src_row, "every row of the child is below the fork that made it"
    check_no_overlaps(diagram)
    _check_order(diagram, get_renderer("mermaid").render(diagram))  # type: ignore[arg-type]
