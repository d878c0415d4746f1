"""The default capture backend: a raw AF_PACKET socket with the BPF filter libpcap compiles.

(Named "scapy" for the backend that once read through scapy's listen socket;
the name stays what users pass to `--capture`.) Why not read through scapy's
`L2ListenSocket`: its `recv_raw` turns the kernel's SO_TIMESTAMPNS timestamp
into a float of seconds, which at today's epoch (~1.7e9 s) keeps only ~240 ns
resolution, and it builds a scapy class per packet. ipctrace orders packets
between the `time.time_ns()` stamps of syscalls, so it needs the exact
integer nanoseconds. libpcap (`capture.bpf`, through ctypes) turns
`inbound and (tcp or udp)` into the classic BPF program (the `inbound` test
reads the kernel's packet type, SKF_AD_PKTTYPE, so each loopback packet is
kept once, not as an outgoing and an incoming copy), and the socket itself is
a plain `socket.AF_PACKET` one read with `recvmsg_into`, storing only
(timestamp ns, frame bytes). Nothing here imports scapy.

The socket is created with protocol 0 (it receives nothing), gets the filter,
then is bound to the interface with ETH_P_ALL: from that bind on, capture is
live, and no unfiltered packet from any other interface was ever queued.

Stopping drains what the kernel has queued: on `lo` a packet reaches the
capture socket before the call that sent it returns, so once the traced
programs have ended, what is queued is the whole run; the reader stops when
the queue has stayed empty for a moment (DRAIN_QUIET), never later than
MAX_DRAIN.
"""

from __future__ import annotations

import os
import select
import signal
import socket
import struct
import threading
import time
from pathlib import Path

from ipctrace.capture.base import MAX_DRAIN, NO_PRIVILEGE, Capture, CaptureUnavailable, close_in_background
from ipctrace.capture.bpf import BpfError, attach_filter, compile_filter
from ipctrace.capture.pcap import DLT_EN10MB, DLT_RAW, SNAPLEN, RawCapture, write_pcap

FILTER = "inbound and (tcp or udp)"
RCVBUF = 8 * 1024 * 1024  # asked for; the kernel doubles it for bookkeeping

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_STATISTICS = 6
SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # == SCM_TIMESTAMPNS (64-bit timespec)
DRAIN_QUIET = 0.005  # seconds the queue must stay empty for the drain to end

_ARPHRD_TO_DLT = {1: DLT_EN10MB, 772: DLT_EN10MB, 65534: DLT_RAW}  # ether, loopback, none (tun)
_TIMESPEC = struct.Struct("@qq")
_BATCH = 512  # packets read per wake-up before looking at the stop deadline again


def _linktype(interface: str) -> int:
    """The pcap link type of `interface`, from its ARPHRD type in sysfs (no socket needed)."""
    try:
        arphrd = int(Path(f"/sys/class/net/{interface}/type").read_text())
    except (OSError, ValueError):
        return DLT_EN10MB
    return _ARPHRD_TO_DLT.get(arphrd, DLT_EN10MB)


def open_socket(interface: str, expr: str = FILTER) -> tuple[socket.socket, int, int]:
    """Open the filtered, timestamping, large-buffer packet socket; return (socket, linktype, rcvbuf)."""
    try:
        socket.if_nametoindex(interface)
    except OSError:
        raise CaptureUnavailable(
            f"network interface {interface!r} does not exist: pass an existing interface such as 'lo'."
        ) from None
    try:
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    except PermissionError:
        raise CaptureUnavailable(NO_PRIVILEGE) from None
    try:
        linktype = _linktype(interface)
        try:
            attach_filter(sock, compile_filter(expr, linktype))
        except (BpfError, OSError) as exc:
            raise CaptureUnavailable(
                f"cannot compile the capture filter with libpcap ({exc}): "
                "apt-get install libpcap0.8, or use --capture tcpdump."
            ) from None
        try:
            sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, RCVBUF)
        except PermissionError:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        sock.bind((interface, ETH_P_ALL))
        sock.setblocking(False)
        read_kernel_stats(sock)  # reading resets the counters: start from zero at bind
        rcvbuf = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
    except BaseException:
        sock.close()
        raise
    return sock, linktype, rcvbuf


def read_kernel_stats(sock: socket.socket) -> tuple[int, int]:
    """(packets, drops) since the last call: PACKET_STATISTICS, struct tpacket_stats.

    The kernel resets the counters on every read; its `tp_packets` already
    includes the dropped ones.
    """
    data = sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8)
    packets, drops = struct.unpack("II", data)
    return packets, drops


class ScapySocketCapture(Capture):
    """A live capture: a background thread stores (timestamp, bytes) until `stop()`."""

    backend = "scapy"

    def __init__(self, interface: str = "lo", pcap_path: Path | None = None) -> None:
        self.interface = interface
        self.pcap_path = Path(pcap_path) if pcap_path is not None else None
        self._sock, self.linktype, self.rcvbuf = open_socket(interface)
        self._frames: list[tuple[int, bytes]] = []
        self._view = memoryview(bytearray(SNAPLEN))
        self._cmsg_size = socket.CMSG_SPACE(_TIMESPEC.size)
        self._deadline: float | None = None  # time.monotonic() at which to stop reading
        self._deadline_ns: int | None = None  # the same moment on CLOCK_REALTIME
        self._quiet = False  # stop as soon as the queue stays empty for DRAIN_QUIET
        self._error: BaseException | None = None
        self._result: RawCapture | None = None
        self._wake_r, self._wake_w = os.pipe()
        self._thread = threading.Thread(target=self._run, name=f"ipctrace-capture-{interface}", daemon=True)
        self._thread.start()

    # The reader thread. Kept tight: one recvmsg_into, one slice copy and one
    # append per packet; nothing is parsed here.
    def _run(self) -> None:
        # Ctrl-C is for the main thread, which takes it between two steps of a run (session.Supervisor.run).
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        fd = self._sock.fileno()
        try:
            while True:
                deadline = self._deadline
                timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
                if deadline is not None and self._quiet:
                    timeout = min(timeout or 0.0, DRAIN_QUIET)
                ready, _, _ = select.select([fd, self._wake_r], [], [], timeout)
                if self._wake_r in ready:
                    os.read(self._wake_r, 64)
                if fd in ready:
                    self._read_queued(_BATCH)
                if deadline is None:
                    continue
                if time.monotonic() >= deadline or (self._quiet and not ready):
                    # Take what is already queued, up to the first packet stamped after the deadline.
                    self._read_queued(None, stop_after_ns=self._deadline_ns)
                    break
        except BaseException as exc:  # surfaced by stop()
            self._error = exc

    def _read_queued(self, max_packets: int | None, stop_after_ns: int | None = None) -> None:
        """Read queued packets without blocking: at most `max_packets`, or until the queue is empty."""
        recv = self._sock.recvmsg_into
        view = self._view
        cmsg_size = self._cmsg_size
        append = self._frames.append
        unpack = _TIMESPEC.unpack
        count = 0
        while max_packets is None or count < max_packets:
            try:
                n, anc, _flags, _addr = recv([view], cmsg_size)
            except BlockingIOError:
                return
            count += 1
            ts = 0
            for level, kind, data in anc:
                if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                    sec, nsec = unpack(data[: _TIMESPEC.size])
                    ts = sec * 1_000_000_000 + nsec
            if not ts:
                ts = time.time_ns()
            append((ts, bytes(view[:n])))
            if stop_after_ns is not None and ts > stop_after_ns:
                return

    def stop(self, drain: float | None = None) -> RawCapture:
        """Take what the kernel queued (default), or keep reading `drain` more seconds; then close."""
        if self._result is not None:
            return self._result
        self._quiet = drain is None
        drain = MAX_DRAIN if drain is None else max(0.0, drain)
        self._deadline_ns = time.time_ns() + int(drain * 1e9)
        self._deadline = time.monotonic() + drain
        os.write(self._wake_w, b"x")
        self._thread.join()
        try:
            _packets, drops = read_kernel_stats(self._sock)
        except OSError:
            drops = None
        finally:
            close_in_background(self._sock)
            os.close(self._wake_r)
            os.close(self._wake_w)
        if self._error is not None:
            raise RuntimeError(f"packet capture on {self.interface} failed: {self._error}") from self._error
        self._result = RawCapture(frames=self._frames, linktype=self.linktype, kernel_drops=drops, backend=self.backend)
        if self.pcap_path is not None:
            write_pcap(self._result, self.pcap_path)
        return self._result
