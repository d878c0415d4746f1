"""Three threads, one after another, each writing to a pipe: each event carries its own thread id."""

import os
import threading

r, w = os.pipe()


def work(n: int) -> None:
    os.write(w, b"%d" % n)


for n in range(3):
    thread = threading.Thread(target=work, args=(n,))
    thread.start()
    thread.join()
print(os.read(r, 10))
