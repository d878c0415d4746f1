"""Every form of every hot-path call, deterministically: run once per recorder implementation, same records.

python hot_same.py   (traced; IPCTRACE_PURE_PYTHON chooses the implementation). Prints which wrappers ran
(the type of os.write, socket.socket.send, a traced file object's read).
"""

import array
import json
import os
import signal
import socket
import threading


def attempt(fn, *args):
    try:
        return fn(*args)
    except (OSError, TypeError, ValueError, BufferError) as exc:
        return type(exc).__name__


def pipes(r, w):
    os.write(w, b"one")
    os.write(w, bytearray(b"two"))
    os.write(w, memoryview(b"three"))
    os.write(w, array.array("i", [1, 2]))
    os.write(w, b"x" * 40)  # over the payload cap
    os.read(r, 3)
    os.read(r, 1000)  # less than asked
    os.write(w, b"y" * 50)
    os.read(r, 20)  # over the cap: the kept bytes and the true size
    os.read(r, 100)
    attempt(os.write, w, memoryview(b"abcdef")[::2])  # not contiguous: refused as untraced
    attempt(os.write, w, "text")
    attempt(os.read, r, "3")
    attempt(os.write, 999, b"to no one")
    attempt(os.read, 999, 1)
    os.set_blocking(r, False)
    attempt(os.read, r, 5)  # EAGAIN
    os.set_blocking(r, True)


def sockets(a, b):
    a.send(b"hello")
    b.recv(100)
    a.sendall(b"all of it")
    b.recv(3)
    buf = bytearray(10)
    b.recv_into(buf)
    a.send(memoryview(b"view"))
    b.recv_into(memoryview(buf), 2)
    b.recv_into(buf, 0)
    a.send(b"peek", 0)  # flags given as zero
    b.recv(4, socket.MSG_PEEK)  # the flagged form
    b.recv(10, 0)
    a.send(b"z" * 64)
    b.recv(64)
    a.setblocking(False)
    moved = a.send(b"p" * (1 << 22))  # partial
    attempt(a.send, b"q" * (1 << 20))  # EAGAIN
    a.setblocking(True)
    while moved:
        moved -= len(b.recv(min(moved, 1 << 16)))
    attempt(b.recv_into, bytearray(2), 5)  # buffer too small
    attempt(a.send, "text")


def files(r, w):
    raw_w = open(w, "wb", buffering=0, closefd=False)  # the recorder's file object on a pipe (wrap_io)
    raw_r = open(r, "rb", buffering=0, closefd=False)
    assert type(raw_r).__name__ == "TracedFileIO"
    raw_w.write(b"file bytes")
    raw_r.readinto(bytearray(4))
    raw_r.read(3)
    raw_r.readinto(memoryview(bytearray(30)))
    os.set_blocking(r, False)
    raw_r.read(4)  # None: nothing there
    raw_r.readinto(bytearray(4))
    os.set_blocking(r, True)
    raw_w.write(memoryview(b"mv"))
    raw_r.read(100)


def one_site_many_ways(r, w, r2, w2):
    """One call site in a loop whose descriptor and size change between calls (the wrapper keeps its last head)."""
    for fd, data in ((w, b"a"), (w2, b"bb"), (w, b"a"), (w, b"ccc"), (w2, b"bb")):
        os.write(fd, data)
    for fd, n in ((r, 1), (r2, 2), (r, 2), (r, 3), (r2, 2)):
        os.read(fd, n)


def taking_turns(r, w):
    """Two threads writing from one call site by turns: each call's last head at that site was the other's.

    The second thread writes from another site first, on its first turn, so the shared site has another
    number in its log.
    """
    turns = [threading.Event(), threading.Event()]

    def writer(me):
        for k in range(3):
            turns[me].wait()
            turns[me].clear()
            if me == 1 and k == 0:  # on its turn: what the pipe holds, and so what the reads record, is the same
                os.write(w, b"1")
            os.write(w, b"t")
            turns[1 - me].set()

    threads = [threading.Thread(target=writer, args=(me,)) for me in (0, 1)]
    for t in threads:
        t.start()
    turns[0].set()
    for t in threads:
        t.join()
    os.read(r, 7)


def interrupted(r, w):
    """A signal handler that writes while the program is blocked reading: its record comes after the read's."""

    def handler(signum, frame):
        os.write(w, b"from the handler")

    old = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, 0.2)  # the read is blocked long before
    got = os.read(r, 100)
    signal.signal(signal.SIGALRM, old)

    class Stop(Exception):
        pass

    def raising(signum, frame):
        raise Stop

    signal.signal(signal.SIGALRM, raising)
    signal.setitimer(signal.ITIMER_REAL, 0.2)  # the read is blocked long before
    try:
        os.read(r, 100)  # raises Stop: recorded as a call that failed
    except Stop:
        pass
    signal.signal(signal.SIGALRM, old)
    return got


def main():
    r, w = os.pipe()
    a, b = socket.socketpair()
    pipes(r, w)
    sockets(a, b)
    files(r, w)
    t = threading.Thread(target=pipes, args=(r, w))
    t.start()
    t.join()
    r2, w2 = os.pipe()
    one_site_many_ways(r, w, r2, w2)
    taking_turns(r, w)
    got = interrupted(r, w)
    file_read = type(open(r, "rb", buffering=0, closefd=False)).read
    types = [type(f).__name__ for f in (os.write, socket.socket.send, file_read)]
    print(json.dumps({"types": types, "handler": got.decode()}))


main()
