"""The supervisor's wake-up: a poke from an output pump is never lost, whenever it comes.

The pumps poke from their own threads at any moment, also just as a wait's time is up; a poke that a
wait let fall there would leave the supervisor waiting its longest interval for a record that came
with the output. The pokes here come at random moments around the wait's end, from a real thread.
"""

from __future__ import annotations

import queue
import random
import threading
import time

from ipctrace.session.wakeup import POLL_SECONDS, QUICK_SECONDS, Wakeup


def test_a_poke_before_a_wait_ends_it_at_once():
    wakeup = Wakeup()
    wakeup.poke()
    started = time.monotonic()
    assert wakeup.wait()
    assert time.monotonic() - started < POLL_SECONDS * 20  # not the interval: the poke was there already


def test_the_waits_grow_while_nothing_moves_and_a_move_makes_them_short_again():
    wakeup = Wakeup()
    assert not wakeup.wait() and not wakeup.wait()
    assert wakeup._interval == QUICK_SECONDS * 4
    for _ in range(10):
        wakeup.wait()
    assert wakeup._interval == POLL_SECONDS
    wakeup.moved()
    assert wakeup._interval == QUICK_SECONDS


def test_no_poke_is_lost_when_it_comes_as_a_wait_times_out():
    """A poke made before a wait begins must end that wait with True; 2,000 pokes, each at a random time."""
    wakeup = Wakeup()
    delays: queue.Queue[float | None] = queue.Queue()
    made = threading.Event()

    def poker() -> None:  # one thread for every round: sleeps as told, then pokes and says so
        while (delay := delays.get()) is not None:
            time.sleep(delay)
            wakeup.poke()
            made.set()

    thread = threading.Thread(target=poker)
    thread.start()
    rng = random.Random(20)
    lost = 0
    try:
        for _ in range(2000):
            wakeup.moved()  # every wait of the round is QUICK_SECONDS long, so the pokes land near their ends
            made.clear()
            delays.put(rng.uniform(0.5 * QUICK_SECONDS, 1.5 * QUICK_SECONDS))  # around the wait's end
            while True:
                poked_before = made.is_set()  # its poke is made: this wait must see it
                if wakeup.wait():
                    break
                if poked_before:
                    lost += 1
                    break
                wakeup.moved()
            made.wait(timeout=10)
    finally:
        delays.put(None)
        thread.join()
    assert lost == 0, f"{lost} of 2000 pokes were lost"
