"""A pipe's write end passed to a forked child over a Unix socketpair (SCM_RIGHTS); the child writes into it."""

import array
import os
import socket

a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
pid = os.fork()
if pid == 0:
    a.close()
    msg, anc, _flags, _addr = b.recvmsg(16, socket.CMSG_SPACE(4))
    fds = array.array("i")
    fds.frombytes(anc[0][2][: fds.itemsize])
    os.write(fds[0], b"written through a passed fd\n")
    os._exit(0)
b.close()
r, w = os.pipe()
a.sendmsg([b"fd"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [w]))])
os.close(w)
os.waitpid(pid, 0)
print(os.read(r, 100))
