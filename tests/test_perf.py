"""The stages' speed helpers (`ipctrace.perf`) give what the plain ways give."""

from __future__ import annotations

import gc
import operator
import random
import weakref

import pytest

from ipctrace.perf import gc_paused, sorted_by_first


@pytest.mark.parametrize("spread", [1, 2, 5, 50, 10_000])
def test_sorted_by_first_is_sorted_by_the_whole_key(spread: int) -> None:
    rng = random.Random(spread)
    first, whole = operator.itemgetter(0), operator.itemgetter(0, 1, 2)
    for n in range(40):
        # equal whole keys too (the last field is not in the key): the sort must stay stable
        items = [(rng.randrange(spread), rng.randrange(3), rng.randrange(2), k) for k in range(n)]
        got = sorted_by_first(items, first, whole)
        assert [item[3] for item in got] == [item[3] for item in sorted(items, key=whole)]


def test_sorted_by_first_sorts_runs_at_both_ends_and_a_lone_pair() -> None:
    items = [(1, 9), (0, 5), (0, 3), (2, 1), (3, 2), (3, 0), (1, 4), (1, 1)]
    assert sorted_by_first(items, operator.itemgetter(0), lambda x: x) == sorted(items)


class _Node:
    """An object that can hold itself: a cycle only the collector frees."""

    me: _Node | None = None


def test_gc_paused_hands_what_it_made_to_the_oldest_generation_and_cycles_are_still_collected() -> None:
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        made = [[k] for k in range(1000)]
        node = _Node()
        node.me = node
        alive = weakref.ref(node)
    assert gc.isenabled()
    young = {id(o) for generation in (0, 1) for o in gc.get_objects(generation)}
    assert not any(id(o) in young for o in made)  # the next young collection does not walk them
    assert gc.get_count()[0] < 100
    del node
    gc.collect()
    assert alive() is None  # a cycle made while paused is still freed, by a full collection


def test_gc_paused_leaves_frozen_objects_frozen() -> None:
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with gc_paused():
            _ = [[k] for k in range(100)]
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()
