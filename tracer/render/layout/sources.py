"""The program's own words for a descriptor: the expression at the call site (`fds[1]`, `sd[0]`, `clnt_sock`).

The recorder gives each event a call site (`site`: file, line, function) when it
knows one. The line is read from the program's source and parsed: for
`os.write(fds[1], msg)` the descriptor is the first argument, for
`clnt_sock.send(msg)` the object the method is called on, and for
`fds = os.pipe()` or `clnt_sock, addr = serv_sock.accept()` the names the
new descriptors get. `X.fileno()` reads as `X`. A line that cannot be read or
parsed names nothing; the diagram then shows the descriptor number.
"""

from __future__ import annotations

import ast
import linecache
from dataclasses import dataclass
from typing import Protocol

from ipctrace.calls import Call, Trait, spec


class Site(Protocol):
    """Where in the program a call was made (the recorder's `site` of an event)."""

    @property
    def file(self) -> str: ...

    @property
    def line(self) -> int: ...


@dataclass(frozen=True, slots=True)
class SiteWords:
    fd: str | None = None  # the expression naming the descriptor the call works on
    created: tuple[str, ...] = ()  # the expressions naming the descriptors the call returns, in order


def _method_names(call: Call) -> frozenset[str]:
    """The Python names a call is made by: `os.write` → write, `socket.socket.send` → send."""
    return frozenset(target.rsplit(".", 1)[-1] for target in spec(call).python)


def _plain(node: ast.expr) -> str:
    """`sock.fileno()` → `sock`; anything else as written."""
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "fileno"
        and not node.args
    ):
        node = node.func.value
    return ast.unparse(node)


def _parse(text: str) -> ast.Module | None:
    """One source line as a statement; a line that opens a block (`if x := f():`) is closed first."""
    text = text.strip()
    for candidate in (text, text + " pass", text.rstrip(":")):
        try:
            return ast.parse(candidate)
        except SyntaxError:
            continue
    return None


def _targets(tree: ast.Module, call: ast.Call) -> tuple[str, ...]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and node.value is call and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Tuple | ast.List):
                return tuple(ast.unparse(t) for t in target.elts)
            return (ast.unparse(target),)
    return ()


def read_site(site: Site | None, call: Call) -> SiteWords:
    """The expressions a call's source line uses for its descriptors (empty when unknown)."""
    if site is None or not site.file or site.line <= 0:
        return SiteWords()
    line = linecache.getline(site.file, site.line)
    tree = _parse(line) if line else None
    if tree is None:
        return SiteWords()
    names = _method_names(call)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        if name not in names:
            continue
        module_call = isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "os"
        fd = None
        if module_call or isinstance(func, ast.Name):
            fd = _plain(node.args[0]) if node.args else None
        elif isinstance(func, ast.Attribute):
            fd = _plain(func.value)
        created = _targets(tree, node) if spec(call).has(Trait.CREATES_FD) else ()
        if call is Call.ACCEPT and created:
            created = created[:1]  # `conn, addr = s.accept()`: the descriptor is the first
        return SiteWords(fd, created)
    return SiteWords()


def element(name: str, index: int) -> str:
    """The name of the `index`-th descriptor a call returned into `name`: `fds` → `fds[1]`."""
    return f"{name}[{index}]"
