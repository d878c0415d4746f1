"""Colours for the room: a light theme, a dark one for dim lecture halls, and black on white for print.

Also used by the PlantUML renderer, so `--theme` means the same in every format.
"""

from __future__ import annotations

from dataclasses import dataclass

from ipctrace.render.options import ThemeName


@dataclass(frozen=True)
class Theme:
    bg: str
    fg: str
    muted: str
    lifeline: str
    msg: str
    kernel: str
    packet: str
    dashed: str
    error: str
    typed: str
    process_fill: str
    process_line: str
    channel_fill: str
    channel_line: str
    socket_fill: str
    socket_line: str
    wait_fill: str
    wait_line: str
    sleep_fill: str
    sleep_line: str
    open_fill: str
    open_line: str
    held_fill: str
    held_line: str
    note_fill: str
    note_line: str
    fold_line: str
    fold_fill: str
    end_fill: str
    end_text: str
    expected: str  # an ending the scenario expects
    handler: str  # calls made in a signal handler
    mark: str  # the step a diagram points at (the race explorer's deciding step): its frame, note and arrow
    mark_fill: str


#: The themes in the palette's columns.
_COLUMNS = (ThemeName.LIGHT, ThemeName.DARK, ThemeName.PRINT)

#: Each role's colour in every theme, one role a line: light, dark, print.
_PALETTE: dict[str, tuple[str, str, str]] = {
    "bg": ("#ffffff", "#0d1117", "#ffffff"),
    "fg": ("#1f2328", "#e6edf3", "#000000"),
    "muted": ("#59636e", "#9198a1", "#404040"),
    "lifeline": ("#8c959f", "#6e7681", "#808080"),
    "msg": ("#0550ae", "#58a6ff", "#000000"),
    "kernel": ("#1a7f37", "#3fb950", "#000000"),
    "packet": ("#8250df", "#bc8cff", "#404040"),
    "dashed": ("#6e7781", "#8b949e", "#606060"),
    "error": ("#cf222e", "#ff7b72", "#000000"),
    "typed": ("#1a7f37", "#7ee787", "#000000"),
    "process_fill": ("#ddf4ff", "#0c2d6b", "#ffffff"),
    "process_line": ("#0969da", "#58a6ff", "#000000"),
    "channel_fill": ("#fff8c5", "#3b2e05", "#f0f0f0"),
    "channel_line": ("#9a6700", "#d29922", "#000000"),
    "socket_fill": ("#fbefff", "#2e1a4a", "#f0f0f0"),
    "socket_line": ("#8250df", "#bc8cff", "#000000"),
    "wait_fill": ("#ffd8b5", "#5a2d0c", "#d9d9d9"),
    "wait_line": ("#bc4c00", "#f0883e", "#000000"),
    "sleep_fill": ("#d0d7de", "#30363d", "#ffffff"),
    "sleep_line": ("#57606a", "#8b949e", "#000000"),
    "open_fill": ("#ffebe9", "#4a1e22", "#ffffff"),
    "open_line": ("#cf222e", "#f85149", "#000000"),
    "held_fill": ("#fff1a8", "#4b3b0a", "#eeeeee"),
    "held_line": ("#bf8700", "#d29922", "#606060"),
    "note_fill": ("#f6f8fa", "#161b22", "#ffffff"),
    "note_line": ("#afb8c1", "#3d444d", "#000000"),
    "fold_line": ("#6e7781", "#8b949e", "#000000"),
    "fold_fill": ("#eaeef2", "#21262d", "#eeeeee"),
    "end_fill": ("#424a53", "#c9d1d9", "#000000"),
    "end_text": ("#ffffff", "#0d1117", "#ffffff"),
    "expected": ("#1a7f37", "#3fb950", "#000000"),
    "handler": ("#8250df", "#d2a8ff", "#000000"),
    "mark": ("#bf3989", "#f778ba", "#000000"),
    "mark_fill": ("#ffeff7", "#3d1d2f", "#e6e6e6"),
}


def _theme(column: int) -> Theme:
    """One column of the palette (a Theme names every role, so a role left out or misspelt fails at import)."""
    return Theme(**{role: colours[column] for role, colours in _PALETTE.items()})


THEMES: dict[ThemeName, Theme] = {name: _theme(column) for column, name in enumerate(_COLUMNS)}
