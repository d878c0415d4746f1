"""Each step of the classroom page in words: "child of main writes 13 bytes into pipe #1; nobody has read them yet".

One sentence per row kind and call, from the trace, the descriptor names of the
layout and the process names of the lanes. Payloads, results and printed text
are secret segments (`words.say`), so exercise mode can hide them in the
sentence too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ipctrace.calls import RECEIVES, SENDS, Call, Trait, spec
from ipctrace.link import LinkedTrace
from ipctrace.model import Event, Packet, Pid, SockAddr, Stream, TcpFlags
from ipctrace.render.html.words import Secret, Segment, say, then
from ipctrace.render.i18n import duration, group_title
from ipctrace.render.labels import show_addr, show_args, show_call, show_text, show_text_line
from ipctrace.render.layout.descriptors import Descriptors
from ipctrace.render.options import Lang


@dataclass(frozen=True)
class Speaker:
    """What the sentences read: names of processes and descriptors, and the linked trace."""

    linked: LinkedTrace
    names: Mapping[Pid, str]  # pid → its lane title (`child of main`)
    descriptors: Descriptors
    isn: Mapping[SockAddr, int]  # each TCP sender's initial sequence number
    lang: Lang

    def who(self, pid: Pid) -> str:
        return self.names.get(pid, str(pid))

    def what(self, event: Event, channel: bool = False) -> str:
        """The descriptor in words: `pipe #1 write end`, else `fd 4`; `channel`: a pipe by its name (`pipe #1`)."""
        if channel and event.endpoint is not None and event.endpoint.kind.is_pipe:
            flows = self.linked.flows_of(event.key)
            if flows:
                return group_title(flows[0].channel.group, self.lang)
        meaning = self.descriptors.meaning.get(event.key)
        if meaning:
            return meaning
        return f"fd {event.fd}" if event.fd is not None else str(event.call)


def _secret(text: str) -> Secret:
    return (text,)


def _payload(event: Event) -> Secret:
    data = event.data or b""
    size = event.size if event.size is not None else len(data)
    return _secret(show_text(data, 60, complete=size <= len(data)))


def _size(event: Event) -> int:
    return event.size if event.size is not None else len(event.data or b"")


def _send(event: Event, sp: Speaker) -> list[Segment]:
    n = str(_size(event))
    who = sp.who(event.pid)
    ep = event.endpoint
    if ep is not None and ep.kind.is_datagram:
        addr = show_addr(event.peer or event.address) or sp.what(event)
        return then(say("sends_to", sp.lang, who=who, n=n, addr=addr), say("unread_dgram", sp.lang))
    key = "writes" if event.call is Call.WRITE else "sends"
    flows = sp.linked.flows_of(event.key)
    sentence = say(key, sp.lang, who=who, n=n, what=sp.what(event, channel=True))
    if any(f.send == event.key for f in flows) or not flows:
        sentence = then(sentence, say("unread_yet", sp.lang))
    return sentence


def _senders(event: Event, sp: Speaker) -> str:
    pids = dict.fromkeys(
        f.send.pid for f in sp.linked.flows_of(event.key) if f.recv == event.key and f.send is not None
    )
    return ", ".join(sp.who(pid) for pid in pids)


def _receive(event: Event, sp: Speaker) -> list[Segment]:
    who = sp.who(event.pid)
    n = _size(event)
    ep = event.endpoint
    if n == 0 and event.error is None:
        return say("eof", sp.lang, who=who, what=sp.what(event))
    if ep is not None and ep.kind.is_datagram:
        addr = show_addr(event.peer) or sp.what(event)
        sentence = say("receives_from", sp.lang, who=who, n=_secret(str(n)), addr=addr)
    else:
        sentence = say("reads", sp.lang, who=who, n=_secret(str(n)), what=sp.what(event, channel=True))
    senders = _senders(event, sp)
    if senders and senders != who:
        sentence = then(sentence, say("written_by", sp.lang, sender=senders), sep=" ")
    return [*sentence, ": ", _payload(event)]


def _result(event: Event) -> Secret:
    return _secret(str(event.result) if event.result is not None else "")


def _control(event: Event, sp: Speaker) -> list[Segment]:
    """Calls that move no bytes: pipe, socket, bind, listen, accept, connect, close, fork, wait, sleep, exit."""
    lang, who, call = sp.lang, sp.who(event.pid), event.call
    created = sp.descriptors.created.get(event.key)
    if call is Call.FORK and isinstance(event.result, int) and event.result > 0:
        return say("forks", lang, who=who, child=sp.who(event.result))
    if call in (Call.PIPE, Call.SOCKETPAIR) and created:
        return say("creates", lang, who=who, what=created)
    if call is Call.SOCKET:
        return say("socket", lang, who=who, fd=_result(event))
    if call is Call.BIND:
        return say("binds", lang, who=who, what=sp.what(event), addr=show_addr(event.address))
    if call is Call.LISTEN:
        return say("listens", lang, who=who, what=show_addr(event.local) or sp.what(event))
    if call is Call.ACCEPT:
        fd = event.fds[0] if event.fds else event.result
        return say("accepts", lang, who=who, addr=show_addr(event.peer), fd=_secret(str(fd)))
    if spec(call).has(Trait.CONNECTS):
        return say("connects", lang, who=who, addr=show_addr(event.address or event.peer))
    if call is Call.CLOSE:
        return say("closes", lang, who=who, what=sp.what(event))
    if call is Call.SHUTDOWN:
        return say("shuts", lang, who=who, what=sp.what(event), how=show_args(event))
    if call is Call.SLEEP:
        waited = duration((event.t1 or event.t0) - event.t0)
        return say("slept", lang, who=who, t=waited)
    if event.reaped is not None:
        if event.reaped.nothing:
            return say("reaps_none", lang, who=who)
        return say("reaps", lang, who=who, child=sp.who(event.reaped.pid), how=_secret(str(event.reaped.status)))
    if call is Call.KILL:
        return say("kills", lang, who=who, sig=str(event.args.get("sig", "")), pid=str(event.args.get("pid", "")))
    text = show_call(event, sp.descriptors.expr.get(event.key))
    head, arrow, rest = text.partition(" → ")
    return say("calls", lang, who=who, sig=head + arrow) + ([_secret(rest)] if rest else [])


def call_sentence(event: Event, sp: Speaker, handler: str = "") -> list[Segment]:
    """What a call did, said at the row where it returned (or where it was made, when it never returned)."""
    who = sp.who(event.pid)
    if event.error is not None:
        sentence = say("fails", sp.lang, who=who, call=str(event.call), err=event.error)
    elif event.blocked or event.t1 is None:
        sentence = then(entry_sentence(event, sp), say("never_returns", sp.lang))
    elif event.call in SENDS:
        sentence = _send(event, sp)
    elif event.call in RECEIVES:
        sentence = _receive(event, sp)
    else:
        sentence = _control(event, sp)
    if handler:
        sentence = then(sentence, say("handler", sp.lang, sig=handler), sep=" ")
    return sentence


def entry_sentence(event: Event, sp: Speaker) -> list[Segment]:
    """The moment a call that waits was made: `main calls read on pipe #1 and waits: nothing to read yet`."""
    lang, who, call = sp.lang, sp.who(event.pid), event.call
    if call is Call.SLEEP:
        seconds = event.args.get("seconds", "")
        return say("sleeps", lang, who=who, t=f"{seconds:g}" if isinstance(seconds, int | float) else str(seconds))
    if call is Call.ACCEPT:
        return say("waits_accept", lang, who=who)
    if spec(call).has(Trait.CONNECTS):
        return say("waits_connect", lang, who=who)
    if spec(call).has(Trait.WAITS_FOR_CHILD):
        return say("waits_child", lang, who=who)
    if call in RECEIVES:
        return say("waits_read", lang, who=who, call=str(call), what=sp.what(event))
    return say("waits", lang, who=who, call=str(call))


def output_sentence(events: list[Event], stream: Stream, sp: Speaker) -> list[Segment]:
    """Lines a program printed (or read from its terminal), as one secret."""
    text = "".join((e.data or b"").decode("utf-8", "replace") for e in events)
    shown = _secret("“" + show_text_line(text.encode(), 120).strip() + "”")
    key = "types" if stream is Stream.STDIN else "prints"
    return say(key, sp.lang, who=sp.who(events[0].pid), text=shown)


def exit_sentence(pid: Pid, how: str, sp: Speaker) -> list[Segment]:
    return say("exits", sp.lang, who=sp.who(pid), how=how)


def start_sentence(event: Event, sp: Speaker) -> list[Segment]:
    argv = event.args.get("argv")
    if isinstance(argv, list) and argv:
        cmd = " ".join(str(a).rsplit("/", 1)[-1] for a in argv[:4])
        return say("starts_cmd", sp.lang, who=sp.who(event.pid), cmd=cmd)
    return say("starts", sp.lang, who=sp.who(event.pid))


def relative_numbers(packet: Packet, isn: Mapping[SockAddr, int]) -> tuple[int | None, int | None]:
    """Wireshark's relative seq and ack of a TCP segment (None where unknown)."""
    seq = ack = None
    if packet.seq is not None and packet.src in isn:
        seq = (packet.seq - isn[packet.src]) % (1 << 32)
    if TcpFlags.ACK in packet.flags and packet.ack is not None and packet.dst in isn:
        ack = (packet.ack - isn[packet.dst]) % (1 << 32)
    return seq, ack


def initial_numbers(packets: tuple[Packet, ...]) -> dict[SockAddr, int]:
    isn: dict[SockAddr, int] = {}
    for p in sorted(packets, key=lambda p: p.index):
        if p.proto != "tcp" or p.seq is None:
            continue
        if TcpFlags.SYN in p.flags:
            isn[p.src] = p.seq
        else:
            isn.setdefault(p.src, p.seq - 1)
    return isn


def packet_sentence(packet: Packet, role: str, sp: Speaker, names: Mapping[SockAddr, str]) -> list[Segment]:
    """A packet in words, by its role in its connection's story (`syn`, `data`, `fin`, ...)."""
    lang = sp.lang
    src = names.get(packet.src) or show_addr(packet.src)
    dst = names.get(packet.dst) or show_addr(packet.dst)
    if packet.proto == "udp":
        return say("datagram", lang, n=str(packet.length), src=src, dst=dst)
    seq, ack = relative_numbers(packet, sp.isn)
    flags = packet.flags
    if TcpFlags.RST in flags:
        return say("rst", lang, src=src)
    if TcpFlags.SYN in flags:
        return say("synack" if TcpFlags.ACK in flags else "syn", lang, src=src, dst=dst)
    if TcpFlags.FIN in flags:
        return say("fin", lang, src=src)
    if packet.payload:
        nums = " ".join(x for x in (f"seq={seq}" if seq is not None else "", f"ack={ack}" if ack else "") if x)
        return say("segment", lang, n=str(packet.length), src=src, dst=dst, nums=nums or "—")
    if role == "handshake":
        return say("hs_ack", lang, src=src)
    return say("ack", lang, src=src, ack=str(ack) if ack is not None else "?")
