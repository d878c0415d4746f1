"""The names the canonical form gives things that a run numbers by accident: roles and call references.

Both are small records with `__str__`: the form and the diff hold and compare
the records, and the text (`server/child#1`, `write#2`) exists only in golden
files and messages. `parse` reads that text back once, when a golden file is
loaded; nothing else ever splits it.
"""

from __future__ import annotations

from dataclasses import dataclass

_CHILD = "/child#"


class IdentityError(ValueError):
    """A role or call reference in a golden file that is not of the form the canonical form writes."""


@dataclass(frozen=True, slots=True, order=True)
class Role:
    """A process named by its place in the run: the scenario's role, then the fork path (`server/child#2/child#1`).

    Children are numbered in the order their parent forked (or spawned) them,
    never by pid, so the same program gives the same roles in every run.
    """

    root: str
    path: tuple[int, ...] = ()

    def child(self, number: int) -> Role:
        return Role(self.root, (*self.path, number))

    def __str__(self) -> str:
        return self.root + "".join(f"{_CHILD}{k}" for k in self.path)

    @classmethod
    def parse(cls, text: str) -> Role:
        root, *children = str(text).split(_CHILD)
        try:
            return cls(root, tuple(int(k) for k in children))
        except ValueError:
            raise IdentityError(f"{text!r} is not a role (`name` or `name/child#k`)") from None


@dataclass(frozen=True, slots=True, order=True)
class CallRef:
    """One data call of a process: the `number`-th call named `call` on one endpoint (`write#2`)."""

    call: str
    number: int

    def __str__(self) -> str:
        return f"{self.call}#{self.number}"

    @classmethod
    def parse(cls, text: str) -> CallRef:
        call, _, number = str(text).rpartition("#")
        if not call or not number.isdigit():
            raise IdentityError(f"{text!r} is not a call reference (`call#k`)")
        return cls(call, int(number))
