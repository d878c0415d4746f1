"""Makes every call the recorder wraps at least once, in a known order (see test_record.py)."""

import os
import signal
import socket
import sys
import time

r, w = os.pipe()
r2, w2 = os.pipe2(os.O_CLOEXEC)
os.write(w, b"abc\0")
print(os.read(r, 10))
d = os.dup(r)
os.dup2(w2, 20)
os.close(d)
os.close(20)
pid = os.fork()
if pid == 0:
    os.write(w, b"from child")
    os._exit(7)
os.waitpid(pid, 0)
os.read(r, 100)
pid = os.fork()
if pid == 0:
    time.sleep(30)
    os._exit(0)
os.kill(pid, signal.SIGTERM)
os.wait()

a, b = socket.socketpair()
a.sendall(b"sendall")
b.recv(100)
a.sendmsg([b"send", b"msg"])
msg = b.recvmsg(100)
buf = bytearray(16)
a.send(b"into")
b.recv_into(buf)
f = socket.fromfd(a.fileno(), socket.AF_UNIX, socket.SOCK_STREAM)
f.close()

srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 0))
srv.listen(1)
cli = socket.socket()
cli.connect(srv.getsockname())
conn, _ = srv.accept()
cli.send(b"hello")
conn.recv(5)
cli.shutdown(socket.SHUT_WR)
conn.recv(5)
bad = socket.socket()
print("connect_ex", bad.connect_ex(("127.0.0.1", 1)) != 0)
bad.close()

u1 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u1.bind(("127.0.0.1", 0))
u2 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u2.sendto(b"dgram1", u1.getsockname())
u1.recvfrom(100)
u2.sendto(b"dgram2", u1.getsockname())
u1.recvfrom_into(buf)
for s in (a, b, srv, cli, conn, u1, u2):
    s.close()
line = sys.stdin.readline()
print("read", repr(line))
time.sleep(0.001)
sys.exit(3)
