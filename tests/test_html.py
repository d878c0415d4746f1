"""The classroom page in a real browser: Debian's Chromium, driven by Playwright, with the network blocked.

For pipe3, tcp_chat and udp_file_done (run once, packets captured where this
machine can): stepping forward and back reaches every message in causal
order, an arrow's details show its bytes, the causal highlight of a read is
its happens-before past, exercise mode hides and reveals payloads, views and
filters change the drawing without re-running, and no request ever leaves
the page. Screenshots of a few steps are kept under the test's tmp path.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ipctrace.calls import RECEIVES
from ipctrace.model import EventKey
from ipctrace.order import OrderedTrace
from ipctrace.render import RenderOptions, build_diagram, render_outputs
from ipctrace.render.graphviz.themes import THEMES
from ipctrace.render.html import embedded_data
from ipctrace.render.labels import show_text
from ipctrace.render.layout.model import ArrowKind
from ipctrace.render.layout.reveal import reveal_steps
from ipctrace.render.options import ThemeName, View
from tests.chromium import CHROMIUM, CHROMIUM_ARGS
from tests.render_support import need, some_runs

SCENARIOS = ["pipe3", "tcp_chat", "udp_file_done"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, OrderedTrace]:
    return some_runs(tmp_path_factory, SCENARIOS)


@pytest.fixture(scope="module")
def pages(runs, tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("html-pages")
    out = {}
    for name, ordered in runs.items():
        out[name] = render_outputs(ordered, root / name, RenderOptions(), formats=("html",))["html"]
    return out


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        need(False, "the Playwright Python package (bash .ci/install-ci-tools.sh, or pip install playwright)")
    need(Path(CHROMIUM).exists(), "Debian's chromium (bash .ci/install-ci-tools.sh, or apt-get install chromium)")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Page:
    """One page in its own browser context, with every request it makes recorded (and any network one refused)."""

    def __init__(self, browser, path: Path, fragment: str = "", height: int = 1000) -> None:
        self.context = browser.new_context(viewport={"width": 1400, "height": height}, offline=True)
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.context.route(
            re.compile(r"^(?!file:).*"), lambda route: (self.requests.append(route.request.url), route.abort())
        )
        self.page = self.context.new_page()
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("console", lambda msg: msg.type == "error" and self.errors.append(msg.text))
        self.url = path.as_uri()
        self.page.goto(self.url + fragment)
        self.page.wait_for_selector("body[data-ready=true]")

    def js(self, script: str, arg=None):
        return self.page.evaluate(script, arg)

    def key(self, key: str) -> None:
        self.page.keyboard.press(key)

    def step(self) -> int:
        return self.js("ipctrace.state.step")

    def shot(self, folder: Path, name: str) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.png"
        self.page.screenshot(path=str(path))
        return path

    def close(self) -> None:
        """Closes the page; what it asked for must have been the page's own file alone."""
        self.context.close()
        outside = [url for url in self.requests if not url.startswith(self.url.split("#")[0])]
        assert outside == [], f"the page tried to fetch {outside}"
        assert self.errors == [], f"script errors: {self.errors}"


@pytest.fixture
def open_page(browser):
    opened: list[Page] = []

    def make(path: Path, fragment: str = "", height: int = 1000) -> Page:
        page = Page(browser, path, fragment, height)
        opened.append(page)
        return page

    yield make
    for page in opened:
        page.close()


@pytest.fixture
def shots(tmp_path) -> Path:
    """Screenshots of a few steps, kept as the test's artefacts."""
    return tmp_path / "screenshots"


def _current_arrows(page: Page) -> list[str]:
    """Arrows drawn as completing at the current step (the page scrolls the current step into view)."""
    return page.js("Array.from(document.querySelectorAll('#diagram g.arrow.current')).map(g => g.id.slice(2))")


# -- the file itself ----------------------------------------------------------------------------------


def test_the_page_is_one_file_that_fetches_nothing(pages):
    """No external script, style, font or image; a policy that forbids any request; the layout of all three views."""
    for name, path in pages.items():
        text = path.read_text(encoding="utf-8")
        assert "Content-Security-Policy" in text and "default-src 'none'" in text
        assert not re.search(r"<(link|img|iframe|object|embed)\b", text), name
        assert not re.search(r"<script[^>]+src=", text), name
        assert not re.search(r"@import|url\(\s*['\"]?(https?:|//)", text), name
        assert not re.search(r"\b(fetch|XMLHttpRequest|WebSocket|EventSource|importScripts)\s*\(", text), name
        data = embedded_data(text)
        assert 'data-encoding="json"' in text, "a course example's page keeps its data readable"
        assert set(data["views"]) == {v.value for v in View}
        assert data["themes"]["dark"]["bg"] == THEMES[ThemeName.DARK].bg


# -- stepping ----------------------------------------------------------------------------------------


def _message_ends(ordered: OrderedTrace, diagram, arrow_id: str) -> list:
    """The nodes an arrow of the diagram ends at: its flows' receives, its packet, or its own row's nodes."""
    arrow = next(a for a in diagram.arrows if str(a.id) == arrow_id)
    return list(diagram.rows[max(arrow.src_row, arrow.dst_row)].keys)


@pytest.mark.parametrize("name", SCENARIOS)
def test_stepping_forward_and_back_reaches_every_message_in_causal_order(name, runs, pages, open_page, shots):
    ordered = runs[name]
    for view in View:
        diagram = build_diagram(ordered, RenderOptions(view=view))
        steps = reveal_steps(diagram)
        page = open_page(pages[name], f"#view={view.value}")
        count = page.js("ipctrace.stepCount()")
        assert count == len(diagram.rows) == len(steps), "one step per row of the layout"
        page.key("Home")
        assert page.step() == 0 and "#step=1" in page.js("location.hash")
        forward: list[list[str]] = [_current_arrows(page)]
        sentences = {page.js("document.getElementById('sentence').textContent")}
        for k in range(1, count):
            page.key("ArrowRight" if k % 3 else ("PageDown" if k % 2 else "Space"))
            assert page.step() == k
            forward.append(_current_arrows(page) if k < count - 1 else [])
            sentences.add(page.js("document.getElementById('sentence').textContent"))
            if view is View.PROCESSES and k in (1, count // 2):
                page.shot(shots, f"{name}-{view.value}-step{k + 1}")
        assert page.js("location.hash").startswith(f"#step={count}")
        # every arrow of the view completes at exactly one step, the step of its later end, as the builds say
        expected = [[str(a) for a in s.arrows] for s in steps]
        assert [sorted(x) for x in forward[:-1]] == [sorted(x) for x in expected[:-1]]
        shown = [a for step in forward for a in step] + [str(a) for a in steps[-1].arrows]
        assert sorted(shown) == sorted(str(a.id) for a in diagram.arrows)
        # in causal order: no message is shown before one that happened before it
        graph = ordered.graph
        import networkx as nx

        order = [(k, a) for k, step in enumerate(forward) for a in step]
        for (_, a1), (_, a2) in zip(order, order[1:], strict=False):
            later = _message_ends(ordered, diagram, a2)
            earlier = _message_ends(ordered, diagram, a1)
            assert not any(nx.has_path(graph, b, a) for a in earlier for b in later if a != b), (a1, a2)
        assert len(sentences) > count // 3, "each step says what happened, in its own words"
        assert not [s for s in sentences if "“·”" in s], "print()'s newline is not a line of its own"
        backward: list[list[str]] = []
        for k in range(count - 2, -1, -1):
            page.key("ArrowLeft" if k % 2 else "PageUp")
            assert page.step() == k
            backward.append(_current_arrows(page))
        assert backward[::-1] == forward[:-1]


def test_the_url_fragment_remembers_the_step(pages, open_page):
    page = open_page(pages["pipe3"], "#step=7")
    assert page.step() == 6
    assert "7" in page.js("document.getElementById('counter').textContent")
    page.key("ArrowRight")
    assert page.js("location.hash") == "#step=8"
    page.page.reload()
    page.page.wait_for_selector("body[data-ready=true]")
    assert page.step() == 7


_DONE = """() => {
  // the nodes the current step shows as done, the calls it shows only entered (still waiting), all the view draws
  const arr = ipctrace.app.arr;
  const cur = ipctrace.currentRow();
  const done = [], entered = [], all = [];
  arr.v.rows.forEach((row, i) => {
    if (!arr.rowOn[i]) return;
    for (const n of row[2]) {
      all.push(n);
      if (i <= cur) (row[0] === "enter" ? entered : done).push(n);
    }
  });
  return [done, entered, all];
}"""


def _shown(page: Page) -> tuple[set[int], set[int], set[int]]:
    done, entered, drawn = page.js(_DONE)
    return set(done), set(entered), set(drawn)


def _new_since(before: tuple[set[int], set[int], set[int]], now: tuple[set[int], set[int], set[int]]) -> set[int]:
    """What `now` shows that `before` (another view) had not: a node done or a call entered there first, or a
    packet only this view draws that came after the first event `before` had not shown yet."""
    done, entered, drawn = before
    now_done, now_entered, now_drawn = now
    first = min(drawn - done, default=max(drawn, default=0) + 1)
    own = {n for n in now_done & (now_drawn - drawn) if n > first}
    return ((now_done - done) & drawn) | (now_entered - entered - done) | own


@pytest.mark.parametrize("name", SCENARIOS)
def test_switching_views_keeps_the_step_and_gives_nothing_away(name, pages, open_page):
    """At every step the other view opens at its latest step that shows nothing the first had not shown yet.

    The views may order concurrent events differently, so the other view can open a little earlier; never later.
    """
    page = open_page(pages[name])
    count = page.js("ipctrace.stepCount()")
    for other in (View.PACKETS, View.KERNEL):
        for k in range(count - 1):
            page.js("([k]) => { ipctrace.setView('processes'); ipctrace.goTo(k, { noPredict: true }); }", [k])
            shown = _shown(page)
            page.key({View.PACKETS: "3", View.KERNEL: "2"}[other])
            gave_away = _new_since(shown, _shown(page))
            assert not gave_away, f"{name}: step {k + 1} in {other.value} shows {sorted(gave_away)} not yet shown"
            page.key("ArrowRight")  # the step after would give something away: it opened at the latest step
            assert _new_since(shown, _shown(page)), f"{name}: step {k + 1} opened {other.value} earlier than it had to"
    page.key("End")
    page.key("3")
    assert page.step() == page.js("ipctrace.stepCount()") - 1, "the whole run stays the whole run"


def test_end_shows_the_end_of_the_run(pages, open_page, shots):
    """End (and ▶|) jump to the whole run scrolled to its end, where the last step's sentence is; Home to the top."""
    page = open_page(pages["tcp_chat"], "#step=3")
    scrolled = "(s => [s.scrollTop, s.clientHeight, s.scrollHeight])(document.getElementById('scroller'))"
    top, view, total = page.js(scrolled)
    assert total > view * 1.5, "tcp_chat is taller than the window"
    page.key("End")
    top, view, total = page.js(scrolled)
    assert page.step() == page.js("ipctrace.stepCount()") - 1
    assert top + view >= total - 2, (top, view, total)
    texts = page.js("Array.from(document.querySelectorAll('#diagram text')).map(t => t.textContent)")
    assert any("exit 0" in t for t in texts), "the processes' ends are drawn in the window"
    page.shot(shots, "tcp_chat-end")
    page.key("Home")
    assert page.step() == 0 and page.js(scrolled)[0] == 0
    page.page.locator("#last").click()
    assert page.js(scrolled)[0] > 0


#: Scrolls the run so that a label beside the lanes is right under the lane heads that stay at the top, then
#: gives the heads' strip and its lane boxes on screen, and the page's background colour.
_LABEL_UNDER_THE_HEADS = """async () => {
  const scroller = document.getElementById('scroller');
  const heads = document.getElementById('heads');
  const rect = (e) => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
  const boxes = () => [...heads.querySelectorAll('.head rect.body')].map(rect);
  const strip = rect(heads);
  const beside = (x) => boxes().every((b) => x < b[0] - 4 || x > b[2] + 4);
  const columns = (r) => Array.from({ length: Math.floor((r[2] - r[0]) / 4) }, (_, k) => r[0] + 4 * k);
  const clear = (r) => columns(r).filter(beside).length >= 8;  // 32 px of it beside the lane boxes
  const labels = [...document.querySelectorAll('#diagram text')].map(rect).filter((r) => r[1] > strip[3] && clear(r));
  const label = labels[labels.length - 1];
  scroller.scrollTop += (label[1] + label[3]) / 2 - (strip[1] + strip[3]) / 2;
  await new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
  return { strip: rect(heads), boxes: boxes(), shown: getComputedStyle(heads).visibility,
           bg: getComputedStyle(document.body).backgroundColor };
}"""


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_the_lane_heads_that_stay_at_the_top_hide_what_scrolls_beneath_them(runs, tmp_path, open_page, theme):
    """Scrolled down, the lanes' titles stay at the top on a band of the page's colour: a label under them is hidden."""
    from tests.render_support import png_pixels

    path = render_outputs(runs["tcp_chat"], tmp_path, RenderOptions(theme=ThemeName(theme)), formats=("html",))["html"]
    page = open_page(path, height=500)
    page.key("End")
    got = page.js(_LABEL_UNDER_THE_HEADS)
    assert got["shown"] == "visible" and len(got["boxes"]) == 2, got
    left, top, right, bottom = got["strip"]
    png = page.page.screenshot(clip={"x": left, "y": top, "width": right - left, "height": bottom - top - 2})
    (width, height), pixels, _ = png_pixels(png)
    bpp = len(pixels) // (width * height)
    bg = tuple(int(x) for x in re.findall(r"\d+", got["bg"])[:3])
    beside = [x for x in range(2, width - 2) if all(x + left < b[0] - 3 or x + left > b[2] + 3 for b in got["boxes"])]
    stray = {
        (x, y)
        for y in range(height)
        for x in beside
        if tuple(pixels[(y * width + x) * bpp : (y * width + x) * bpp + 3]) != bg
    }
    assert not stray, f"{len(stray)} pixels of what scrolled beneath show through the heads' strip, e.g. {min(stray)}"


# -- details and the causal highlight ----------------------------------------------------------------------


@pytest.mark.parametrize("name", SCENARIOS)
def test_the_details_of_an_arrow_show_its_bytes(name, runs, pages, open_page, shots):
    ordered = runs[name]
    for view in (View.PROCESSES, View.PACKETS):
        diagram = build_diagram(ordered, RenderOptions(view=view))
        kinds = (ArrowKind.MSG,) if view is View.PROCESSES else (ArrowKind.PACKET, ArrowKind.IN)
        arrow = next(
            (a for a in diagram.arrows if a.kind in kinds and a.src != a.dst and (a.flows or a.packet is not None)),
            None,
        )
        if arrow is None:
            continue  # pipe3 has no packets
        page = open_page(pages[name], f"#view={view.value}&step={max(arrow.src_row, arrow.dst_row) + 1}")
        hit = page.page.locator(f"#a-{arrow.id} path.hit")
        hit.hover(force=True)  # hovering shows what it is; the causal past and future only come with a click
        hovered = page.js("document.getElementById('details').innerText")
        assert page.js("document.querySelector('#details .causal') === null"), hovered
        hit.click(force=True)
        details = page.js("document.getElementById('details').innerText")
        assert page.js("document.querySelector('#details .causal') !== null"), details
        if arrow.flows:
            hovered_flow = ordered.linked.flows[arrow.flows[0]]
            assert show_text(hovered_flow.data, 400, complete=hovered_flow.complete) in hovered
        if arrow.flows:
            flow = ordered.linked.flows[arrow.flows[0]]
            assert show_text(flow.data, 400, complete=flow.complete) in details
            assert " ".join(f"{b:02x}" for b in flow.data[:8]) in details
        if arrow.packet is not None:
            packet = next(p for p in ordered.trace.packets if p.index == arrow.packet)
            assert f"#{packet.index}" in details and "seq" in details
            if packet.payload:
                assert " ".join(f"{b:02x}" for b in packet.payload[:8]) in details
        page.shot(shots, f"{name}-{view.value}-details")


def _first_linked_read(ordered: OrderedTrace) -> tuple[EventKey, EventKey]:
    for flow in ordered.linked.flows:
        if flow.send is not None and flow.recv is not None and flow.send.pid != flow.recv.pid:
            if ordered.trace.event(flow.recv).call in RECEIVES:
                return flow.recv, flow.send
    raise AssertionError("no message between two processes")


@pytest.mark.parametrize("name", SCENARIOS)
def test_the_causal_highlight_of_a_read_is_its_happens_before_past(name, runs, pages, open_page, shots):
    import networkx as nx

    ordered = runs[name]
    read, write = _first_linked_read(ordered)
    rank = {node: i for i, node in enumerate(ordered.order)}
    diagram = build_diagram(ordered, RenderOptions())
    row = next(r.index for r in diagram.rows if read in r.keys and r.kind.value == "call")
    page = open_page(pages[name], f"#step={row + 1}", height=1400)
    page.page.locator(f"#diagram g.call[data-row='{row}']").first.click()
    past = set(page.js("Array.from(ipctrace.state.sel.past)"))
    future = set(page.js("Array.from(ipctrace.state.sel.future)"))
    assert rank[write] in past, "the write is in the read's past"
    assert past == {rank[n] for n in nx.ancestors(ordered.graph, read)}
    assert future == {rank[n] for n in nx.descendants(ordered.graph, read)}
    # on screen: the write's label is marked as the past; every label drawn is classed by the graph
    write_row = next(r.index for r in diagram.rows if write in r.keys and r.kind.value == "call")
    classes = page.js(
        "Array.from(document.querySelectorAll('#diagram g.call')).map(g => [+g.dataset.row, g.getAttribute('class')])"
    )
    assert any(r == write_row and " past" in c for r, c in classes)
    assert not any(r > row and " past" in c for r, c in classes), "nothing later than the read is in its past"
    for r, c in classes:
        nodes = [rank[n] for n in diagram.rows[r].keys]
        want = (
            "sel"
            if rank[read] in nodes
            else "past"
            if all(n in past for n in nodes)
            else "future"
            if all(n in future for n in nodes)
            else "dim"
        )
        assert f" {want}" in c, (r, c, want)
    page.shot(shots, f"{name}-causal")
    page.key("Escape")
    assert page.js("ipctrace.state.sel") is None
    assert page.js("document.querySelectorAll('#diagram .dim').length") == 0


# -- exercise mode -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", SCENARIOS)
def test_exercise_mode_hides_and_reveals_payloads(name, runs, pages, open_page, shots):
    ordered = runs[name]
    diagram = build_diagram(ordered, RenderOptions())
    steps = reveal_steps(diagram)
    by_id = {str(a.id): a for a in diagram.arrows}
    k, arrow = next((s.index, by_id[str(a)]) for s in steps for a in s.arrows if by_id[str(a)].kind is ArrowKind.MSG)
    flow = ordered.linked.flows[arrow.flows[0]]
    payload = show_text(flow.data, 8)[1:-2]  # a few characters of it, without the quotes
    page = open_page(pages[name], f"#step={k}")  # the step before the message arrives
    page.key("x")
    assert page.js("ipctrace.state.exercise") is True
    page.key("ArrowRight")  # first the page asks for a prediction
    assert page.js("ipctrace.state.predict !== null")
    assert page.js("document.getElementById('predict').hidden") is False
    assert page.step() == k - 1
    right = page.js("ipctrace.state.predict.lane")
    page.page.locator(f"#diagram rect.target[data-i='{right}']").click(force=True)
    assert page.step() == k
    assert page.js("ipctrace.state.verdict.right") is True
    assert page.js("document.getElementById('predict').className") == "right"
    label = page.page.locator(f"#a-{arrow.id} .label text").first
    assert payload not in label.text_content() and "▒▒▒" in label.text_content()
    assert payload not in page.js("document.getElementById('sentence').innerText")
    printed = "Array.from(document.querySelectorAll('#diagram .note tspan:not(.typed)')).map(n => n.textContent).join()"
    assert payload not in page.js(printed), "printed lines are hidden (what was typed is given)"
    page.shot(shots, f"{name}-exercise-hidden")
    page.page.locator(f"#a-{arrow.id} .label [data-reveal]").first.click(force=True)
    assert payload in page.page.locator(f"#a-{arrow.id} .label text").first.text_content()
    page.key("r")  # reveal everything of the current step
    assert payload in page.js("document.getElementById('sentence').innerText")
    page.key("x")  # off again, live
    assert page.js("document.querySelectorAll('#diagram [data-reveal]').length") == 0
    page.shot(shots, f"{name}-exercise-off")


def test_a_wrong_prediction_says_where_the_arrow_went(pages, runs, open_page):
    diagram = build_diagram(runs["pipe3"], RenderOptions())
    steps = reveal_steps(diagram)
    by_id = {str(a.id): a for a in diagram.arrows}
    k = next(s.index for s in steps for a in s.arrows if by_id[str(a)].kind is ArrowKind.MSG)
    page = open_page(pages["pipe3"], f"#step={k}&exercise")
    page.key("ArrowRight")
    right = page.js("ipctrace.state.predict.lane")
    wrong = next(i for i in range(len(diagram.lanes)) if i != right and diagram.lanes[i].first_row <= k)
    page.page.locator(f"#diagram rect.target[data-i='{wrong}']").click(force=True)
    assert page.js("ipctrace.state.verdict.right") is False
    assert diagram.lanes[right].title in page.js("document.getElementById('predict').innerText")


# -- views, filters, search, presenter, theme, language ----------------------------------------------------------


def test_views_and_filters_change_the_drawing_without_rerunning(runs, pages, open_page, shots):
    ordered = runs["tcp_chat"]
    page = open_page(pages["tcp_chat"])
    for key, view in (("2", View.KERNEL), ("3", View.PACKETS), ("1", View.PROCESSES)):
        page.key(key)
        assert page.js("ipctrace.state.view") == view.value
        assert page.js("ipctrace.stepCount()") == len(build_diagram(ordered, RenderOptions(view=view)).rows)
    page.key("3")
    before = page.js("ipctrace.stepCount()")
    page.page.locator("#hide-acks").check()
    packets = build_diagram(ordered, RenderOptions(view=View.PACKETS))
    data_only = build_diagram(ordered, RenderOptions(view=View.PACKETS, packets="data"))
    assert before - page.js("ipctrace.stepCount()") == len(packets.rows) - len(data_only.rows)
    page.page.locator("#hide-acks").uncheck()
    page.key("1")  # the checkbox keeps the focus: keys still step and switch views
    assert page.js("ipctrace.state.view") == "processes"
    # hide the client: its lane and every arrow to or from it go, the drawing gets narrower
    width = page.js("ipctrace.app.arr.width")
    page.page.locator("#lanes-button").click()
    client = next(lane for lane in build_diagram(ordered, RenderOptions()).lanes if lane.title == "client")
    page.page.locator(f"#lanes-panel select[data-lane='{client.id}']").select_option("hidden")
    assert page.js("ipctrace.app.arr.width") < width
    heads = page.js("Array.from(document.querySelectorAll('#diagram g.head title')).map(t => t.textContent)")
    assert not any(h.startswith("client ") for h in heads)
    assert page.js("document.querySelectorAll('#diagram g.arrow').length") == 0  # every message was to the client
    page.page.locator(f"#lanes-panel select[data-lane='{client.id}']").select_option("collapsed")
    assert page.js("document.querySelectorAll('#diagram g.arrow').length") > 0
    page.shot(shots, "tcp_chat-client-collapsed")
    page.page.locator(f"#lanes-panel select[data-lane='{client.id}']").select_option("shown")
    # search a payload: the arrows carrying it are marked, Enter jumps to one
    said = next(f.data for f in ordered.linked.flows if len(f.data) > 4).decode("utf-8", "replace").strip()[:5]
    page.page.locator("#search").fill(said)
    assert re.search(r"\d", page.js("document.getElementById('search-count').textContent"))
    page.page.locator("#search").press("Enter")
    assert page.js("document.querySelectorAll('#diagram g.arrow.match').length") >= 1


def test_presenter_mode_and_the_slide_themes(pages, open_page, shots):
    page = open_page(pages["tcp_chat"], "#step=20")
    zoom = page.js("ipctrace.state.zoom")
    page.key("p")
    assert page.js("document.body.classList.contains('presenter')")
    assert page.js("ipctrace.state.zoom") > zoom
    size = page.js("parseFloat(getComputedStyle(document.getElementById('narration')).fontSize)")
    assert size >= 28, "the narration is read from the back of the room"
    for theme in (ThemeName.DARK, ThemeName.PRINT, ThemeName.LIGHT):
        page.key("t")
        bg = page.js("getComputedStyle(document.documentElement).getPropertyValue('--bg').trim()")
        assert bg == THEMES[theme].bg
        if theme is ThemeName.DARK:
            page.shot(shots, "tcp_chat-presenter-dark")
    page.key("p")
    assert not page.js("document.body.classList.contains('presenter')")


def test_korean_labels(runs, tmp_path, open_page, shots):
    path = render_outputs(runs["pipe3"], tmp_path / "ko", RenderOptions(lang="ko"), formats=("html",))["html"]
    page = open_page(path, "#step=6")
    assert page.js("document.getElementById('exercise').textContent") == "연습"
    assert re.search(r"[\uac00-\ud7a3]", page.js("document.getElementById('sentence').textContent"))
    assert "부모 프로세스" in page.js("document.getElementById('diagram').textContent")
    page.shot(shots, "pipe3-ko")


def test_ipctrace_render_writes_the_page_beside_the_svg(trace_scenario, tmp_path):
    from ipctrace.cli import main
    from tests.render_support import need_graphviz

    need_graphviz()
    result = trace_scenario("pipe1")
    assert main(["render", str(result.outdir), "--output", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "sequence.svg").exists()
    text = (tmp_path / "out" / "sequence.html").read_text(encoding="utf-8")
    assert "Who are you?" in text and "ipctrace-data" in text


def test_a_large_runs_data_is_packed_and_the_page_still_opens(runs, tmp_path, open_page, monkeypatch):
    import ipctrace.render.html as html

    monkeypatch.setattr(html, "GZIP_FROM", 0)  # as if pipe3 were a run of thousands of events
    path = render_outputs(runs["pipe3"], tmp_path / "packed", RenderOptions(), formats=("html",))["html"]
    text = path.read_text(encoding="utf-8")
    assert 'data-encoding="gzip+base64"' in text and "Who are you" not in text
    assert embedded_data(text)["title"] == runs["pipe3"].trace.header.title
    page = open_page(path, "#step=3")
    assert page.step() == 2
    page.key("End")
    assert page.js("ipctrace.state.step") == page.js("ipctrace.stepCount()") - 1


def test_a_marked_step_is_framed_with_its_note_and_its_message_drawn_in_the_mark_colour(
    runs, tmp_path, open_page, shots
):
    """`RenderOptions.marks` (the race explorer's deciding step) on the classroom page."""
    from ipctrace.render.options import Mark

    ordered = runs["pipe3"]
    recv, _send = _first_linked_read(ordered)
    options = RenderOptions(marks=(Mark(recv, "here this read took the message"),))
    path = render_outputs(ordered, tmp_path / "marked", options, formats=("html",))["html"]
    page = open_page(path)
    page.key("End")
    assert page.js("document.querySelectorAll('#diagram g.call.marked rect.mark').length") == 1
    note = page.js("Array.from(document.querySelectorAll('#diagram g.call.marked text.mark')).map(t => t.textContent)")
    assert " ".join(note) == "★ here this read took the message"
    stroke = page.js("getComputedStyle(document.querySelector('#diagram g.call.marked rect.mark')).stroke")
    mark = THEMES[ThemeName.LIGHT].mark.lstrip("#")
    assert stroke == "rgb({}, {}, {})".format(*(int(mark[k : k + 2], 16) for k in (0, 2, 4)))
    assert page.js("document.querySelectorAll('#diagram g.arrow.marked').length") >= 1  # the message it took
    page.shot(shots, "pipe3-marked")
