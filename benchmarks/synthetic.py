"""Synthetic trace files of any size, written straight as trace.jsonl lines, for the scaling benchmarks.

Recording a million events takes minutes; these traces have the shape of real
ones (what `ipctrace run` writes for `exchange.py pipe N` and a UDP sender)
and are written in a second or two.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

_DEV = 14
_START = 1_700_000_000_000_000_000


def _header(command: list[str]) -> str:
    return json.dumps(
        {
            "type": "header",
            "version": 1,
            "command": command,
            "host": "bench",
            "clock": "CLOCK_REALTIME",
            "started": _START,
            "scenario": None,
            "roles": {},
            "capture": {"backend": "none", "captured": 0, "kept": 0, "kernel_drops": None, "note": ""},
            "ending": "",
            "ending_note": "",
            "ended": 0,
        }
    )


def _process(pid: int, ppid: int, role: str, start: int, end: int, forked: bool) -> str:
    return json.dumps(
        {
            "type": "process",
            "pid": pid,
            "ppid": ppid,
            "role": role,
            "argv": ["exchange.py"],
            "start": start,
            "end": end,
            "exit": {"code": 0},
            "forked": forked,
        }
    )


class _Events:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.seq: dict[int, int] = {}

    def add(self, pid: int, ppid: int, t0: int, t1: int, call: str, **fields: object) -> None:
        seq = self.seq.get(pid, 0)
        self.seq[pid] = seq + 1
        obj = {"type": "event", "pid": pid, "seq": seq, "ppid": ppid, "tid": pid, "t0": t0, "t1": t1, "call": call}
        obj.update(fields)
        self.lines.append(json.dumps(obj))


def pipe_ping_pong(path: Path, events: int) -> int:
    """A parent and its forked child trading `ping`/`pong` over two pipes: four events an exchange."""
    parent, child = 1000, 1001
    a, b = [_DEV, 5001, "pipe"], [_DEV, 5002, "pipe"]
    ev = _Events()
    t = _START
    ev.add(parent, 1, t, t, "start", args={"argv": ["exchange.py"], "how": "exec"})
    ev.add(parent, 1, t + 10, t + 20, "pipe", res=[3, 4], ep=a)
    ev.add(parent, 1, t + 30, t + 40, "pipe", res=[5, 6], ep=b)
    ev.add(parent, 1, t + 50, t + 60, "fork", res=child)
    ev.add(child, parent, t + 55, t + 55, "start", args={"how": "fork"})
    t += 100
    ping, pong = base64.b64encode(b"ping").decode(), base64.b64encode(b"pong").decode()
    for _ in range(max(1, (events - 8) // 4)):
        ev.add(parent, 1, t, t + 300, "write", fd=4, ep=a, size=4, data=ping, res=4)
        ev.add(child, parent, t - 50, t + 400, "read", fd=3, ep=a, args={"n": 100}, size=4, data=ping, res=4)
        ev.add(child, parent, t + 500, t + 800, "write", fd=6, ep=b, size=4, data=pong, res=4)
        ev.add(parent, 1, t + 350, t + 900, "read", fd=5, ep=b, args={"n": 100}, size=4, data=pong, res=4)
        t += 1000
    ev.add(child, parent, t, t, "exit", args={"how": "_exit"}, res=0)
    ev.add(parent, 1, t + 10, t + 100, "waitpid", args={"pid": child, "options": 0}, res=[child, 0])
    ev.add(parent, 1, t + 200, t + 200, "exit", args={"how": "return"}, res=0)
    _write(path, ["exchange.py", "pipe"], [(parent, 1, "main", False), (child, parent, "main/child#1", True)], ev, t)
    return len(ev.lines)


def udp_datagrams(path: Path, datagrams: int, lost_every: int = 6) -> int:
    """A client sending `datagrams` numbered datagrams to a server that reads all but every `lost_every`-th.

    Every datagram is on the wire (captured), so each packet ties to its send, and to its receive
    when there was one.
    """
    client, server = 2000, 2001
    cep, sep = [_DEV, 6001, "udp"], [_DEV, 6002, "udp"]
    caddr, saddr = ["127.0.0.1", 40000], ["127.0.0.1", 9000]
    ev = _Events()
    t = _START
    ev.add(server, 1, t, t, "start", args={"argv": ["server.py"], "how": "exec"})
    ev.add(server, 1, t + 10, t + 20, "socket", args={"family": 2, "type": 2, "proto": 0}, res=3, ep=sep)
    ev.add(server, 1, t + 30, t + 40, "bind", fd=3, ep=sep, args={"addr": saddr}, local=saddr)
    ev.add(client, 1, t + 50, t + 50, "start", args={"argv": ["client.py"], "how": "exec"})
    ev.add(client, 1, t + 60, t + 70, "socket", args={"family": 2, "type": 2, "proto": 0}, res=3, ep=cep)
    packets = []
    t += 100
    for i in range(datagrams):
        payload = b"datagram %08d " % i + b"x" * 32
        data = base64.b64encode(payload).decode()
        ev.add(client, 1, t, t + 200, "sendto", fd=3, ep=cep, size=len(payload), data=data, res=len(payload),
               args={"addr": saddr}, local=caddr, peer=saddr)  # fmt: skip
        packets.append({"type": "packet", "index": i, "ts": t + 100, "proto": "udp", "src": caddr, "dst": saddr,
                        "flags": "", "seq": None, "ack": None, "data": data})  # fmt: skip
        if i % lost_every != lost_every - 1:
            ev.add(server, 1, t + 50, t + 300, "recvfrom", fd=3, ep=sep, args={"n": 4096}, size=len(payload),
                   data=data, res=len(payload), local=saddr, peer=caddr)  # fmt: skip
        t += 1000
    ev.add(client, 1, t, t, "exit", args={"how": "return"}, res=0)
    ev.add(server, 1, t + 10, t + 10, "exit", args={"how": "return"}, res=0)
    procs = [(server, 1, "server", False), (client, 1, "client", False)]
    _write(path, ["udp"], procs, ev, t, [json.dumps(p) for p in packets])
    return len(ev.lines)


def _write(
    path: Path, command: list[str], procs: list[tuple[int, int, str, bool]], ev: _Events, end: int,
    packets: list[str] = (),  # type: ignore[assignment]
) -> None:  # fmt: skip
    lines = [_header(command)]
    lines += [_process(pid, ppid, role, _START, end, forked) for pid, ppid, role, forked in procs]
    lines += sorted(ev.lines, key=lambda line: json.loads(line)["t0"]) if len(ev.lines) < 100_000 else ev.lines
    lines += packets
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
