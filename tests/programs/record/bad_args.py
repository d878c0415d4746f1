"""Calls every wrapped function with a wrong argument type; prints each exception's type and message."""

import _posixsubprocess
import os
import select
import socket
import time

s = socket.socket()
u = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
cases = {
    "os.read fd": lambda: os.read("x", 1),
    "os.read n": lambda: os.read(0, "x"),
    "os.write fd": lambda: os.write("x", b""),
    "os.write data": lambda: os.write(1, "str"),
    "os.readv": lambda: os.readv("x", []),
    "os.writev": lambda: os.writev(1, "x"),
    "os.sendfile": lambda: os.sendfile("x", 0, 0, 1),
    "os.splice": lambda: os.splice("x", 1, 1),
    "os.pipe2": lambda: os.pipe2("x"),
    "os.open": lambda: os.open(1.5, 0),
    "os.close": lambda: os.close("x"),
    "os.closerange": lambda: os.closerange("a", 1),
    "os.dup": lambda: os.dup("x"),
    "os.dup2": lambda: os.dup2("x", 1),
    "os.waitpid": lambda: os.waitpid("x", 0),
    "os.kill": lambda: os.kill("x", 0),
    "os.execv": lambda: os.execv(1, 1),
    "os.execve": lambda: os.execve(1, 1, 1),
    "os.posix_spawn": lambda: os.posix_spawn(1, 1, 1),
    "os.posix_spawnp": lambda: os.posix_spawnp(1, 1, 1),
    "os.system": lambda: os.system(1),
    "_posixsubprocess.fork_exec": lambda: _posixsubprocess.fork_exec(*[1] * 23),
    "time.sleep": lambda: time.sleep("x"),
    "open": lambda: open(1.5),
    "io.open": lambda: open([]),
    "os.fdopen": lambda: os.fdopen("x"),
    "socket.socket": lambda: socket.socket("x"),
    "socket.socketpair": lambda: socket.socketpair("x"),
    "socket.fromfd": lambda: socket.fromfd("x", 1, 1),
    "send": lambda: s.send("x"),
    "send flags": lambda: s.send(b"x", "f"),
    "sendall": lambda: s.sendall(1),
    "sendto": lambda: u.sendto(b"x", 5),
    "sendmsg": lambda: s.sendmsg(1),
    "recv": lambda: s.recv("x"),
    "recv flags": lambda: s.recv(1, "f"),
    "recv_into": lambda: s.recv_into(b"immutable"),
    "recvfrom": lambda: s.recvfrom("x"),
    "recvfrom_into": lambda: s.recvfrom_into(1),
    "recvmsg": lambda: s.recvmsg("x"),
    "recvmsg_into": lambda: s.recvmsg_into(1),
    "bind": lambda: s.bind("x"),
    "listen": lambda: s.listen("x"),
    "connect": lambda: s.connect(1),
    "connect_ex": lambda: s.connect_ex(1),
    "shutdown": lambda: s.shutdown("x"),
    "setsockopt": lambda: s.setsockopt("x", 1, 1),
    "select.select": lambda: select.select(1, 2, 3),
    "poll.poll": lambda: select.poll().poll("x"),
    "epoll.poll": lambda: select.epoll().poll("x"),
}
for name, call in cases.items():
    try:
        call()
        print(name, "no error")
    except Exception as exc:
        print(name, type(exc).__name__, exc)
