"""A selectors-based echo server serving a forked client over a Unix socket."""

import os
import selectors
import socket
import tempfile

path = os.path.join(tempfile.mkdtemp(), "s")
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
srv.listen()
pid = os.fork()
if pid == 0:
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.connect(path)
    for word in (b"alpha", b"beta"):
        c.sendall(word)
        print(c.recv(100))
    c.close()
    os._exit(0)
sel = selectors.DefaultSelector()
sel.register(srv, selectors.EVENT_READ)
done = False
while not done:
    for key, _ in sel.select(timeout=5):
        if key.fileobj is srv:
            conn, _ = srv.accept()
            sel.register(conn, selectors.EVENT_READ)
        else:
            data = key.fileobj.recv(100)
            if data:
                key.fileobj.sendall(data.upper())
            else:
                sel.unregister(key.fileobj)
                key.fileobj.close()
                done = True
os.waitpid(pid, 0)
os.unlink(path)
