"""select.poll over two pipes written by two forked children."""

import os
import select

pipes = [os.pipe() for _ in range(2)]
pids = []
for n, (_r, w) in enumerate(pipes):
    pid = os.fork()
    if pid == 0:
        os.write(w, b"child %d\n" % n)
        os._exit(0)
    os.close(w)
    pids.append(pid)
poller = select.poll()
for r, _ in pipes:
    poller.register(r, select.POLLIN)
got, open_fds = [], {r for r, _ in pipes}
while open_fds:
    for fd, _ev in poller.poll(5000):
        data = os.read(fd, 100)
        if data:
            got.append(data)
        else:
            poller.unregister(fd)
            open_fds.discard(fd)
for pid in pids:
    os.waitpid(pid, 0)
print(sorted(got))
