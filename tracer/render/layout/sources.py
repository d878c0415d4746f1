"""The program's own words for a descriptor: the expression at the call site (`fds[1]`, `sd[0]`, `clnt_sock`).

The recorder gives each event a call site (`site`: file, line, function) when it
knows one. The line is read from the program's source and parsed: for
`os.write(fds[1], msg)` the descriptor is the first argument, for
`clnt_sock.send(msg)` the object the method is called on, and for
`fds = os.pipe()` or `clnt_sock, addr = serv_sock.accept()` the names the
new descriptors get. `X.fileno()` reads as `X`. A line that cannot be read or
parsed names nothing; the diagram then shows the descriptor number.

A C source line (the native recorder's sites, `.c`/`.h`) is read the same way without a C parser:
the call is found by its libc name (the table's `native` column), its arguments split at the commas
outside brackets and strings; `write(fds[1], ...)` names `fds[1]`, `pipe(fds)` and
`socketpair(..., sd)` name the pair's array, `clnt_sock = accept(serv_sock, ...)` the new descriptor.
"""

from __future__ import annotations

import ast
import linecache
import re
from dataclasses import dataclass
from functools import lru_cache

from ipctrace.calls import Call, Trait, spec
from ipctrace.model import CallSite


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


@lru_cache(maxsize=4096)
def read_site(site: CallSite | None, call: Call) -> SiteWords:
    """The expressions a call's source line uses for its descriptors (empty when unknown).

    Kept per site and call (as `linecache` keeps the line): every view of a trace, and each of the classroom
    page's three layouts, reads the same sites, and parsing a line is most of following the descriptors.
    """
    if site is None or not site.file or site.line <= 0:
        return SiteWords()
    line = linecache.getline(site.file, site.line)
    if site.file.endswith(_C_SUFFIXES):
        return _read_c(line, call) if line else SiteWords()
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


_C_SUFFIXES = (".c", ".h")
_C_NAME = re.compile(r"\b([A-Za-z_]\w*)\s*\(")
_C_TARGET = re.compile(r"(?<![\w.\]>])([A-Za-z_]\w*(?:(?:\.|->)\w+|\[[^\]]*\])*)\s*=$")  # `x =`, `a[i] =`, `p->fd =`
_C_FILENO = re.compile(r"^fileno\s*\(\s*(\w+)\s*\)$")
_PAIR_ARRAY = {Call.PIPE: 0, Call.PIPE2: 0, Call.SOCKETPAIR: 3}  # which argument is the int[2] filled in


def _c_args(text: str, start: int) -> list[str]:
    """The top-level arguments of a call whose `(` ends at `start` (those complete on this line)."""
    args: list[str] = []
    depth, begin, i = 0, start, start
    while i < len(text):
        ch = text[i]
        if ch in "\"'":  # a string or character literal: skip to its end
            i += 1
            while i < len(text) and text[i] != ch:
                i += 2 if text[i] == "\\" else 1
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            if depth == 0:
                args.append(text[begin:i].strip())
                return args
            depth -= 1
        elif ch == "," and depth == 0:
            args.append(text[begin:i].strip())
            begin = i + 1
        i += 1
    return args


def _c_expr(arg: str) -> str | None:
    """An argument as the diagram names it: `fileno(stdin)` → `stdin`; a literal number names nothing."""
    found = _C_FILENO.match(arg)
    arg = found.group(1) if found else arg
    return arg if arg and not arg.isdigit() else None


def _c_target(before: str) -> str | None:
    """The variable a call's result is assigned to: `if ((sock = socket(` → `sock` (never `==`, `<=`, ...)."""
    found = _C_TARGET.search(before.rstrip(" \t("))
    return found.group(1) if found else None


def _read_c(line: str, call: Call) -> SiteWords:
    """A C line's words for `call`; a line calling it twice (`pipe(fds1), pipe(fds2);`) names nothing, since
    a site is a line, not a column, and which of the two an event is cannot be told."""
    names = frozenset(spec(call).native)
    calls = [found for found in _C_NAME.finditer(line) if found.group(1) in names]
    if len(calls) != 1:
        return SiteWords()
    found = calls[0]
    args = _c_args(line, found.end())
    if call in _PAIR_ARRAY:
        at = _PAIR_ARRAY[call]
        return SiteWords(None, (args[at],) if len(args) > at and args[at] else ())
    traits = spec(call).traits
    # A call that creates a descriptor from nothing (socket, open) has none as its first argument.
    on_fd = not traits & Trait.CREATES_FD or bool(traits & (Trait.WAITS_ON_FD | Trait.DUPLICATES_FD))
    fd = _c_expr(args[0]) if args and on_fd else None  # used only for a call on a descriptor (descriptors.py)
    target = _c_target(line[: found.start()]) if spec(call).has(Trait.CREATES_FD) else None
    return SiteWords(fd, (target,) if target else ())


def element(name: str, index: int) -> str:
    """The name of the `index`-th descriptor a call returned into `name`: `fds` → `fds[1]`."""
    return f"{name}[{index}]"
