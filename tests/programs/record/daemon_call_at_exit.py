"""A daemon thread's call returns from the kernel while the main thread ends the program.

The switch interval is huge, so the thread, back from its timed-out `recv`, waits for the GIL
until the main thread hands it over in a blocking call; the main thread only spins (holding it)
past the timeout and returns. Untraced the interpreter's exit then stops the thread as it takes
the GIL; traced, the recorder must still store the end of the call that ran.

With `blocked` the thread's recv has no timeout: it is still inside its call when the program ends,
and its record stays in progress.
"""

import socket
import sys
import threading
import time

sys.setswitchinterval(100)
a, b = socket.socketpair()
blocked = sys.argv[1:] == ["blocked"]
b.settimeout(None if blocked else 0.05)
inside = threading.Event()


def receive():
    time.sleep(0)  # the thread's first recorded call makes its log (files made with the GIL released)
    inside.set()
    try:
        b.recv(1)
    except TimeoutError:
        pass


threading.Thread(target=receive, daemon=True).start()
inside.wait()  # given the GIL back when the thread blocks in its recv
end = time.monotonic() + (0 if blocked else 0.5)  # well past the recv's timeout: the call is over in the kernel
while time.monotonic() < end:
    pass
