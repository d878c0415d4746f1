"""Steps: the diagram told one row at a time, for the classroom page and for slide builds.

A step reveals one row of the layout — one call, one message's receiving end,
one packet, a process starting or ending — in the rows' order, which is the
causal order (a receive never before its send). A step *completes a message*
when an arrow ends at its row: the HTML page draws that arrow from then on,
and `--builds` makes one slide page per such step (one more message per
page). Both read these records, so build page k shows exactly what the page
shows at its step.

`revealed(diagram, row)` is the diagram as it stands after a step: what
happened later is left out, a call still waiting is drawn waiting up to
that row, bytes still held by the kernel are held up to it, and a lane that
has not ended yet has no ending.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, replace

from ipctrace.render.i18n import tr
from ipctrace.render.layout.model import ArrowId, Bar, BarKind, Diagram, Lane, Page


@dataclass(frozen=True, slots=True)
class Reveal:
    """Step `index` (0 first): every row up to `row` is shown; `arrows` end at that row."""

    index: int
    row: int
    arrows: tuple[ArrowId, ...] = ()

    @property
    def message(self) -> bool:
        """True when a message (an arrow) completes at this step."""
        return bool(self.arrows)


def reveal_steps(diagram: Diagram) -> tuple[Reveal, ...]:
    """One step per row, in the rows' (causal) order, with the arrows each completes."""
    ending: dict[int, list[ArrowId]] = defaultdict(list)
    for arrow in diagram.arrows:
        ending[max(arrow.src_row, arrow.dst_row)].append(arrow.id)
    return tuple(Reveal(row.index, row.index, tuple(ending.get(row.index, ()))) for row in diagram.rows)


def _lane_at(lane: Lane, row: int, last: int) -> Lane:
    """A lane as it stands after `row`: no ending yet when it ends later (or is still blocked at the end)."""
    if lane.last_row <= row and not (lane.open_end and row < last):
        return lane
    return replace(lane, last_row=min(lane.last_row, row), end=None)


def _bar_at(bar: Bar, row: int, last: int) -> Bar:
    if bar.kind is BarKind.OPEN and row < last:  # still blocked at the end, but the end is not here yet
        return replace(bar, row1=row, kind=BarKind.WAIT)
    return replace(bar, row1=min(bar.row1, row))


def revealed(diagram: Diagram, row: int, steps: int | None = None) -> Diagram:
    """The diagram after the step at `row` (see the module docstring); `steps` numbers it in the subtitle."""
    last = len(diagram.rows) - 1
    if row >= last and steps is None:
        return diagram
    lanes = tuple(_lane_at(lane, row, last) for lane in diagram.lanes if lane.first_row <= row)
    subtitle = diagram.subtitle
    if steps is not None:
        subtitle = f"{tr('step', diagram.options.lang, i=row + 1, n=steps)} · {subtitle}"
    return replace(
        diagram,
        subtitle=subtitle,
        lanes=lanes,
        lane_index={lane.id: i for i, lane in enumerate(lanes)},
        arrows=tuple(a for a in diagram.arrows if max(a.src_row, a.dst_row) <= row),
        bars=tuple(_bar_at(b, row, last) for b in diagram.bars if b.row0 <= row),
        calls=tuple(c for c in diagram.calls if c.row <= row),
        notes=tuple(n for n in diagram.notes if n.row <= row),
        folds=tuple(replace(f, row1=min(f.row1, row)) for f in diagram.folds if f.row0 <= row),
    )


def build_rows(diagram: Diagram, page: Page, steps: tuple[Reveal, ...] | None = None) -> list[int]:
    """The rows at which the builds of `page` end: each message completed on it, then the page's last row."""
    steps = steps if steps is not None else reveal_steps(diagram)
    ends = [s.row for s in steps[page.row0 : page.row1] if s.message]
    if page.row1 > page.row0 and (not ends or ends[-1] < page.row1 - 1):
        ends.append(page.row1 - 1)
    return ends


def builds(diagram: Diagram) -> Iterator[tuple[Page, Diagram]]:
    """Every build of every page, in order: the page, and the diagram as it stands at the build's step."""
    steps = reveal_steps(diagram)
    for page in diagram.pages:
        for row in build_rows(diagram, page, steps):
            yield page, revealed(diagram, row, len(steps))
