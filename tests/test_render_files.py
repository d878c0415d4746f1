"""The files a run writes: the SVG master (checked by structure), PNG slides and one PDF, themes, errors.

Graphviz is needed: without it these tests skip and say so, except in CI, where they fail.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from ipctrace.render import (
    DEFAULT_FORMATS,
    RENDERERS,
    RenderError,
    RenderOptions,
    build_diagram,
    get_renderer,
    render_outputs,
)
from ipctrace.render.graphviz.files import pdf_page_count, pdf_page_sizes, png_size
from ipctrace.render.i18n import korean_font
from ipctrace.render.layout import ArrowKind
from ipctrace.render.options import FORMATS, PAGE_HEIGHT_PT, PAGE_WIDTH_PT
from tests.render_support import (
    VIEWS,
    korean_chat_run,
    need,
    need_graphviz,
    png_chunks,
    png_pixels,
    scenario_runs,
    some_runs,
)

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def traces(tmp_path_factory):
    return scenario_runs(tmp_path_factory)


@pytest.fixture(scope="module")
def chat(tmp_path_factory):
    """tcp_chat alone (its prompts are answered: notes with ⌨), for a test that needs no other run."""
    return some_runs(tmp_path_factory, ["tcp_chat"])["tcp_chat"]


NO_GRAPHVIZ_NEEDED = {"test_the_registry_names_every_format", "test_missing_graphviz_says_how_to_fix"}


@pytest.fixture(autouse=True)
def graphviz(request):
    if request.node.originalname not in NO_GRAPHVIZ_NEEDED:
        need_graphviz()


def _groups(svg: str) -> list[ET.Element]:
    return [g for g in ET.fromstring(svg).iter(f"{SVG}g") if g.get("id")]


def _classes(g: ET.Element) -> set[str]:
    return set((g.get("class") or "").split())


def _path_ends(g: ET.Element) -> tuple[tuple[float, float], tuple[float, float]]:
    path = next(g.iter(f"{SVG}path"), None)
    assert path is not None, g.get("id")
    numbers = [float(x) for x in re.findall(r"-?\d+(?:\.\d+)?", path.get("d", ""))]
    points = list(zip(numbers[::2], numbers[1::2], strict=False))
    return points[0], points[-1]


def check_svg(svg: str, diagram) -> None:
    groups = _groups(svg)
    lanes = {g.get("id") for g in groups if "lane" in _classes(g)}
    assert lanes == {f"lane-{lane.id}" for lane in diagram.lanes}, "one head per lane"
    arrows = [g for g in groups if "arrow" in _classes(g)]
    assert {g.get("id") for g in arrows} == {str(a.id) for a in diagram.arrows}, "every arrow drawn once, by its id"
    for g in arrows:  # time flows down: no arrow ends above where it starts
        (_, y0), (_, y1) = _path_ends(g)
        assert y1 >= y0 - 0.5, f"{g.get('id')} points up"
        title = g.find(f"{SVG}title")
        assert title is not None and title.text and "->" not in title.text
    for arrow in diagram.arrows:
        if arrow.kind.carries_data:
            g = next(g for g in arrows if g.get("id") == str(arrow.id))
            assert {f"flow-{i}" for i in arrow.flows} <= _classes(g)


@pytest.mark.slow
@pytest.mark.parametrize("view", VIEWS)
def test_every_scenario_every_view_svg(traces, view):
    renderer = get_renderer("svg", RenderOptions(view=view))
    for name, ordered in traces.items():
        diagram = build_diagram(ordered, RenderOptions(view=view))
        try:
            check_svg(renderer.render_one(diagram), diagram)  # type: ignore[arg-type]
        except AssertionError as exc:
            raise AssertionError(f"{name}, {view} view: {exc}") from None


def test_render_outputs_writes_slides_and_one_pdf(traces, tmp_path):
    written = render_outputs(traces["tcp_chat"], tmp_path, RenderOptions(view="packets"))
    for label in DEFAULT_FORMATS:
        assert written[label].is_file(), label
    pngs = sorted(tmp_path.glob("sequence-*.png"))
    assert [p.name for p in pngs][:1] == ["sequence-01.png"]
    assert len(pngs) == len([k for k in written if k.startswith("png")])
    for png in pngs:
        assert png_size(png.read_bytes()) == (1920, 1080), "a 16:9 slide"
    pdf = written["pdf"].read_bytes()
    assert pdf.startswith(b"%PDF") and pdf_page_count(pdf) == len(pngs)
    assert set(pdf_page_sizes(pdf)) == {(PAGE_WIDTH_PT, PAGE_HEIGHT_PT)}, "every PDF page has the same size"
    ET.fromstring(written["svg"].read_text(encoding="utf-8"))
    diagram = build_diagram(traces["tcp_chat"], RenderOptions(view="packets"))
    assert len(pngs) == len(diagram.pages)


def test_a_title_wider_than_the_slide_is_fitted_and_every_page_stays_1920_by_1080(traces, tmp_path):
    """pipe2_nosleep's title, 2014 px at its size, made its slides wider than 16:9."""
    long = "One pipe in both directions without the sleep: the child reads its own message " * 2
    written = render_outputs(traces["pipe3"], tmp_path, RenderOptions(title=long.strip()), formats=("png", "svg"))
    pngs = sorted(tmp_path.glob("sequence-*.png"))
    assert pngs and all(png_size(png.read_bytes()) == (1920, 1080) for png in pngs)
    svg = written["svg"].read_text(encoding="utf-8")
    assert "One pipe in both directions" in svg and "…" in svg


def test_every_course_examples_title_fits_its_slides_whole(traces):
    """A title too wide is cut with `…` on every page (pipe2_nosleep's lost '... own message'): ours all fit."""
    from ipctrace.render.graphviz.paint_text import _fitted_title
    from ipctrace.render.layout.pages import MARGIN
    from ipctrace.scenarios import builtin_scenarios

    metrics = build_diagram(traces["pipe3"], RenderOptions()).metrics
    for scenario in builtin_scenarios().values():
        shown, _ = _fitted_title(scenario.title, "   (10/10)", PAGE_WIDTH_PT - 2 * MARGIN, metrics)
        assert shown.startswith(scenario.title), (scenario.name, shown)


def test_a_caption_longer_than_three_lines_says_it_was_cut(traces, tmp_path):
    """A user's long lesson keeps three lines on the first slide; the third ends with `…` (it ended silently)."""
    words = " ".join(f"word{n}" for n in range(400))
    written = render_outputs(traces["pipe3"], tmp_path, RenderOptions(caption=words), formats=("svg",))
    diagram = build_diagram(traces["pipe3"], RenderOptions(caption=words))
    first = diagram.pages[0]
    svg = written["svg"].read_text(encoding="utf-8")
    assert first.caption and "word0 word1" in svg and " …<" in svg, "the SVG's caption is cut and says so"
    assert "word399" not in svg


def test_stale_pages_are_removed(traces, tmp_path):
    render_outputs(traces["tcp_chat"], tmp_path, RenderOptions(page_rows=4), formats=("png",))
    many = len(list(tmp_path.glob("sequence-*.png")))
    render_outputs(traces["tcp_chat"], tmp_path, RenderOptions(), formats=("png",))
    assert len(list(tmp_path.glob("sequence-*.png"))) < many


@pytest.mark.parametrize("theme", ["dark", "print"])
def test_themes_and_slide_options(traces, theme):
    options = RenderOptions(theme=theme, font_size=18, title="Pipes, both ways", legend=True)
    svg = get_renderer("svg", options).render_one(build_diagram(traces["pipe3"], options))
    assert isinstance(svg, str) and "Pipes, both ways" in svg
    assert any(g.get("id") == "legend" for g in _groups(svg))
    background = {"dark": "#0d1117", "print": "#ffffff"}[theme]
    assert f'fill="{background}"' in svg


def test_korean_text_in_the_svg(traces, tmp_path_factory):
    need(korean_font() is not None, "a Korean font (apt-get install fonts-nanum)")
    options = RenderOptions(lang="ko")
    svg = get_renderer("svg", options).render_one(build_diagram(traces["pipe3"], options))
    for word in ("부모 프로세스", "자식 프로세스", "main의 자식"):
        assert word in svg  # type: ignore[operator]
    chat = korean_chat_run(tmp_path_factory)
    svg = get_renderer("svg").render_one(build_diagram(chat, RenderOptions()))
    assert "&#39;안녕하세요\\n&#39;" in svg or "'안녕하세요\\n'" in svg  # type: ignore[operator]


def test_missing_graphviz_says_how_to_fix(traces, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(RenderError, match="apt-get install graphviz"):
        render_outputs(traces["pipe1"], tmp_path / "out", formats=("svg",))


def test_the_registry_names_every_format():
    assert set(RENDERERS) == {"svg", "png", "pdf", "mermaid", "plantuml", "text", "html", "perfetto"}
    assert tuple(RENDERERS) == FORMATS  # the names a request is checked against before anything is loaded
    with pytest.raises(RenderError, match="unknown output format 'gif'"):
        get_renderer("gif")


def test_paths_written_are_reported(traces, tmp_path):
    written = render_outputs(traces["pipe1"], tmp_path, formats=("svg", "text"))
    assert set(written) == {"svg", "text"}
    assert all(isinstance(p, Path) and p.parent == tmp_path for p in written.values())


def test_svg_and_slides_agree(traces, tmp_path):
    """One layout, several formats: the slides show the same arrows as the SVG master."""
    diagram = build_diagram(traces["pipe3"], RenderOptions())
    written = render_outputs(traces["pipe3"], tmp_path, formats=("svg", "png", "pdf"))
    svg = written["svg"].read_text(encoding="utf-8")
    assert {g.get("id") for g in _groups(svg) if "arrow" in _classes(g)} == {str(a.id) for a in diagram.arrows}
    assert sum(1 for a in diagram.arrows if a.kind is ArrowKind.MSG) == 2


def _note_margins(svg: str) -> dict[str, tuple[float, str]]:
    """Each note's room between its box's left edge and its text, with the text: graphviz measured the
    text with the real font and centres it in the box, so the room on the right is the same."""
    margins = {}
    for g in _groups(svg):
        if "note" not in _classes(g):
            continue
        polygon = g.find(f"{SVG}polygon")
        assert polygon is not None, g.get("id")
        left = min(float(point.split(",")[0]) for point in polygon.get("points", "").split())
        texts = list(g.iter(f"{SVG}text"))
        assert texts and all(t.get("text-anchor") == "start" for t in texts), g.get("id")
        margins[str(g.get("id"))] = (
            min(float(t.get("x", "0")) for t in texts) - left,
            "".join(t.text or "" for t in texts),
        )
    return margins


def test_a_notes_text_keeps_its_padding_inside_its_box(chat):
    """The layout sizes a note from the text it is drawn with (a typed answer bold, after a wide ⌨): tcp_chat's
    prompts ran past their boxes when the sizing counted a thinner text than the painter drew."""
    diagram = build_diagram(chat, RenderOptions())
    svg = get_renderer("svg", RenderOptions()).render_one(diagram)
    margins = _note_margins(svg)
    assert len(margins) == len(diagram.notes)
    assert sum("⌨" in text for _, text in margins.values()) >= 3, "tcp_chat's prompts and their answers"
    doubled = [text for _, text in margins.values() if "  ⌨" in text]
    assert doubled == [], "a prompt ending in a space ('Server: ') is followed by one space before ⌨, not two"
    pad = diagram.metrics.pad
    for name, (margin, text) in margins.items():
        assert margin >= pad / 2, f"{name} {text!r}: {margin:.1f} pt between its box and its text, under {pad / 2:.1f}"


def test_png_slides_encoded_with_the_encoder_library_have_the_same_pixels(traces):
    """pngfast (neato's LD_PRELOAD for PNG slides) changes how the pixels are compressed, never the pixels."""
    from ipctrace.render.graphviz import pngfast
    from ipctrace.render.graphviz.neato import Job, run_neato
    from ipctrace.render.graphviz.painter import page_sources
    from ipctrace.render.graphviz.renderers import _with_dpi

    library = pngfast.library()
    need(library is not None, "a C compiler to build the PNG encoder library (apt-get install gcc libc6-dev)")
    page = page_sources(build_diagram(traces["tcp_chat"], RenderOptions(view="packets")))[0]
    source = _with_dpi(page, 36.0)  # a quarter of the slide's width: the same drawing, decoded in a second
    plain = run_neato(Job(source, "png", "cairo"))
    fast = run_neato(Job(source, "png", "cairo", str(library)))
    size, pixels, filters = png_pixels(plain)
    fast_size, fast_pixels, fast_filters = png_pixels(fast)
    assert (fast_size, fast_pixels) == (size, pixels) and size == (480, 270)
    assert len(set(pixels)) > 2  # a drawing, not a blank page
    assert set(fast_filters) == {0} and set(filters) != {0}  # the library's setting took effect, graphviz's did not
    assert [c for c in png_chunks(fast) if c[0] != b"IDAT"] == [c for c in png_chunks(plain) if c[0] != b"IDAT"]


def test_png_runs_ask_malloc_for_huge_pages_and_draw_the_same_bytes(traces, monkeypatch):
    """The PNG runs' malloc setting (`early.PNG_TUNABLES`) is added to the user's own, and changes no byte drawn."""
    import subprocess

    from ipctrace.render.graphviz.early import PNG_TUNABLES, argv, neato_env
    from ipctrace.render.graphviz.neato import Job, require_graphviz, run_neato
    from ipctrace.render.graphviz.painter import page_sources
    from ipctrace.render.graphviz.renderers import _with_dpi

    need_graphviz()
    monkeypatch.setenv("GLIBC_TUNABLES", "glibc.malloc.check=0")
    job = Job(_with_dpi(page_sources(build_diagram(traces["tcp_chat"], RenderOptions()))[0], 72.0), "png", "cairo")
    env = neato_env(job)
    assert env is not None and env["GLIBC_TUNABLES"] == f"glibc.malloc.check=0:{PNG_TUNABLES}"
    assert neato_env(Job(job.source, "pdf", "cairo")) is None  # only the PNG runs, which fill large images
    monkeypatch.delenv("GLIBC_TUNABLES")
    plain = subprocess.run(argv(require_graphviz(), job), input=job.source.encode(), capture_output=True, check=True)
    assert run_neato(job) == plain.stdout and png_size(plain.stdout) == (960, 540)


def test_png_slides_are_drawn_without_the_encoder_library_when_it_does_not_load(traces, tmp_path):
    """A library neato cannot load (here: not a library at all) costs speed, never the slides."""
    from ipctrace.render.graphviz.neato import Job, run_neato
    from ipctrace.render.graphviz.painter import page_sources
    from ipctrace.render.graphviz.renderers import _with_dpi

    broken = tmp_path / "broken.so"
    broken.write_bytes(b"not a shared library")
    source = _with_dpi(page_sources(build_diagram(traces["pipe3"], RenderOptions()))[0], 36.0)
    assert run_neato(Job(source, "png", "cairo", str(broken))) == run_neato(Job(source, "png", "cairo"))


def _masked(data: bytes) -> bytes:
    return re.sub(rb"/CreationDate \([^)]*\)", b"", data)


def _ahead_jobs(trace):
    from ipctrace.render.graphviz.neato import Job
    from ipctrace.render.graphviz.painter import master_source, page_sources
    from ipctrace.render.graphviz.renderers import _with_dpi

    diagram = build_diagram(trace, RenderOptions())
    pages = page_sources(diagram)
    return diagram, [
        Job(master_source(diagram), "svg"),
        Job("".join(pages), "pdf", "cairo"),
        Job("".join(_with_dpi(p, 36.0) for p in pages), "png", "cairo"),
    ]


def test_neato_started_ahead_writes_what_a_fresh_neato_writes(traces):
    """The processes started before the layout (and warmed on a graph of their own) give the same bytes."""
    from ipctrace.render.graphviz.early import Ahead, Kind, finish_early
    from ipctrace.render.graphviz.neato import run_neato
    from ipctrace.render.layout.build import choose_fonts

    diagram, jobs = _ahead_jobs(traces["tcp_chat"])
    ahead = Ahead([Kind.of(job) for job in jobs], choose_fonts(diagram.options.lang))
    try:
        for job in jobs:
            early = ahead.take(job)
            assert early is not None, job.fmt
            drawn = finish_early(early, job)  # None would mean the job had to be run again
            assert drawn is not None, job.fmt
            assert _masked(drawn) == _masked(run_neato(job)), job.fmt
        assert ahead.take(jobs[0]) is None  # one process per kind asked for
    finally:
        ahead.close()


def test_a_neato_started_ahead_that_died_is_run_again(traces):
    from ipctrace.render.graphviz.early import Ahead, Kind
    from ipctrace.render.graphviz.neato import run_neato

    _, jobs = _ahead_jobs(traces["pipe3"])
    job = jobs[2]
    ahead = Ahead([Kind.of(job)], ())
    early = ahead.take(job)
    assert early is not None
    early.kill()
    early.wait()
    assert run_neato(job, early) == run_neato(job)


def test_neato_processes_no_job_took_are_ended(traces):
    """A diagram of one page needs one PNG run of the two started, graphviz's formats may not be drawn at all."""
    from ipctrace.render.graphviz.early import Ahead, Kind

    ahead = Ahead([Kind("svg"), Kind("png", "cairo"), Kind("png", "cairo")], ())
    started = [proc for waiting in ahead._started().values() for proc in waiting]
    assert len(started) == 3 and all(proc.poll() is None for proc in started)  # waiting for their DOT
    ahead.close()
    assert all(proc.poll() is not None for proc in started)


def test_neato_processes_made_for_later_start_when_the_warm_up_says_and_only_then(traces):
    """`ipctrace run` makes them before its programs and its warm-up starts them; a closed one never starts."""
    from ipctrace.render.graphviz.early import Job, start_deferred, start_later

    never = start_later(["svg"])
    never.close()  # the run ended first
    later = start_later(["svg", "mermaid"])
    assert later.take(Job("", "svg")) is None  # not started yet: the job would start its own
    start_deferred()
    early = later.take(Job("", "svg"))
    assert early is not None and early.poll() is None  # waiting for its DOT
    assert never.take(Job("", "svg")) is None and not never._started()
    later.close()
    early.kill()
    early.communicate()
