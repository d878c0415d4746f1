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


THEMES: dict[ThemeName, Theme] = {
    ThemeName.LIGHT: Theme(
        bg="#ffffff",
        fg="#1f2328",
        muted="#59636e",
        lifeline="#8c959f",
        msg="#0550ae",
        kernel="#1a7f37",
        packet="#8250df",
        dashed="#6e7781",
        error="#cf222e",
        typed="#1a7f37",
        process_fill="#ddf4ff",
        process_line="#0969da",
        channel_fill="#fff8c5",
        channel_line="#9a6700",
        socket_fill="#fbefff",
        socket_line="#8250df",
        wait_fill="#ffd8b5",
        wait_line="#bc4c00",
        sleep_fill="#d0d7de",
        sleep_line="#57606a",
        open_fill="#ffebe9",
        open_line="#cf222e",
        held_fill="#fff1a8",
        held_line="#bf8700",
        note_fill="#f6f8fa",
        note_line="#afb8c1",
        fold_line="#6e7781",
        fold_fill="#eaeef2",
        end_fill="#424a53",
        end_text="#ffffff",
        expected="#1a7f37",
        handler="#8250df",
        mark="#bf3989",
        mark_fill="#ffeff7",
    ),
    ThemeName.DARK: Theme(
        bg="#0d1117",
        fg="#e6edf3",
        muted="#9198a1",
        lifeline="#6e7681",
        msg="#58a6ff",
        kernel="#3fb950",
        packet="#bc8cff",
        dashed="#8b949e",
        error="#ff7b72",
        typed="#7ee787",
        process_fill="#0c2d6b",
        process_line="#58a6ff",
        channel_fill="#3b2e05",
        channel_line="#d29922",
        socket_fill="#2e1a4a",
        socket_line="#bc8cff",
        wait_fill="#5a2d0c",
        wait_line="#f0883e",
        sleep_fill="#30363d",
        sleep_line="#8b949e",
        open_fill="#4a1e22",
        open_line="#f85149",
        held_fill="#4b3b0a",
        held_line="#d29922",
        note_fill="#161b22",
        note_line="#3d444d",
        fold_line="#8b949e",
        fold_fill="#21262d",
        end_fill="#c9d1d9",
        end_text="#0d1117",
        expected="#3fb950",
        handler="#d2a8ff",
        mark="#f778ba",
        mark_fill="#3d1d2f",
    ),
    ThemeName.PRINT: Theme(
        bg="#ffffff",
        fg="#000000",
        muted="#404040",
        lifeline="#808080",
        msg="#000000",
        kernel="#000000",
        packet="#404040",
        dashed="#606060",
        error="#000000",
        typed="#000000",
        process_fill="#ffffff",
        process_line="#000000",
        channel_fill="#f0f0f0",
        channel_line="#000000",
        socket_fill="#f0f0f0",
        socket_line="#000000",
        wait_fill="#d9d9d9",
        wait_line="#000000",
        sleep_fill="#ffffff",
        sleep_line="#000000",
        open_fill="#ffffff",
        open_line="#000000",
        held_fill="#eeeeee",
        held_line="#606060",
        note_fill="#ffffff",
        note_line="#000000",
        fold_line="#000000",
        fold_fill="#eeeeee",
        end_fill="#000000",
        end_text="#ffffff",
        expected="#000000",
        handler="#000000",
        mark="#000000",
        mark_fill="#e6e6e6",
    ),
}
