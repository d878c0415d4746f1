"""The optional capture backend: tcpdump writing a pcap, read back when it stops.

tcpdump is the ground truth the scapy backend is checked against (199k msgs/s
with no drops here). Choices, and why:

- `-Q in` with the filter `tcp or udp`, NOT `inbound and (tcp or udp)`:
  both are accepted by tcpdump 4.99.3/libpcap 1.10.3, but with `inbound`
  the first packet after "listening on" is lost, every time (measured: 10 of
  10 runs, a SYN or the first datagram). libpcap filters the ring slots that
  may predate the kernel filter in user space, where the `inbound` test (a
  Linux BPF extension, SKF_AD_PKTTYPE) always fails. `-Q in` drops the
  outgoing copies in libpcap instead, so each loopback packet is still
  written once.
- `--immediate-mode -U`: packets go to the file as they arrive (without
  immediate mode, stopping soon after the last packet loses the tail).
- `-s 0` (whole packets) with `-B 65536` (a 64 MiB ring), not `-s 2048`
  with 8 MiB: a cut frame has a cut payload (anything over ~1,980 bytes, e.g.
  4 KiB UDP file chunks or loopback GSO segments up to 64 KiB), and the
  linker matches payload bytes. In immediate mode libpcap uses fixed-size
  ring slots sized by the snaplen (~64 KiB on `lo`, MTU 65536), so whole
  packets need the bigger ring. Measured with 200k 32-byte datagrams at
  ~100k/s: `-s 2048 -B 8192` 0 lost; `-s 0 -B 8192` 31% lost; `-s 0 -B 65536`
  0 to 10 lost. `SNAPLEN`/`BUFFER_KIB` below are the knobs.
- `--time-stamp-precision=nano`: kernel CLOCK_REALTIME nanoseconds like the
  scapy backend (identical for UDP; for TCP each packet socket stamps on
  delivery, tcpdump's ring 0.3-13 µs before scapy's socket, both inside the
  sender's send() call).
- tcpdump's "dropped by kernel" count includes dropped outgoing copies
  (`-Q in` discards them only after the ring), so it can be up to twice the
  number of lost packets; 0 still means nothing was lost.
- `-Z root` when we are root: Debian's tcpdump otherwise drops to the
  `tcpdump` user and may not be able to write the pcap where we ask.
"""

from __future__ import annotations

import os
import re
import select
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from ipctrace.capture.base import MAX_DRAIN, Capture, CaptureUnavailable
from ipctrace.capture.pcap import RawCapture, read_pcap

FILTER = "tcp or udp"
SNAPLEN = 0  # whole packets
BUFFER_KIB = 65536
START_TIMEOUT = 10.0  # seconds to wait for "listening on"
STOP_TIMEOUT = 10.0  # seconds to wait for tcpdump to exit after SIGINT
WRITE_QUIET = 0.02  # seconds tcpdump's pcap must not grow for the tail to count as written

_DROPS = re.compile(rb"(\d+) packets? dropped by kernel")


def find_tcpdump() -> str | None:
    """tcpdump's path: on PATH, or in the sbin directories a non-root PATH often lacks."""
    found = shutil.which("tcpdump")
    if found:
        return found
    for candidate in ("/usr/sbin/tcpdump", "/usr/bin/tcpdump", "/sbin/tcpdump", "/usr/local/sbin/tcpdump"):
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def tcpdump_has_capabilities(path: str) -> bool:
    """True when the tcpdump binary carries file capabilities (setcap), so it can capture unprivileged."""
    try:
        return bool(os.getxattr(os.path.realpath(path), "security.capability"))
    except OSError:
        return False


def tcpdump_command(tcpdump: str, interface: str, path: Path) -> list[str]:
    cmd = [tcpdump, "-i", interface, "-w", str(path), "--immediate-mode", "-s", str(SNAPLEN), "-U", "-n"]
    cmd += ["--time-stamp-precision=nano", "-B", str(BUFFER_KIB)]
    if os.geteuid() == 0:
        cmd += ["-Z", "root"]
    return [*cmd, "-Q", "in", FILTER]


class TcpdumpCapture(Capture):
    """tcpdump running in the background; `stop()` sends SIGINT and reads its pcap."""

    backend = "tcpdump"

    def __init__(self, interface: str = "lo", pcap_path: Path | None = None) -> None:
        tcpdump = find_tcpdump()
        if tcpdump is None:
            raise CaptureUnavailable("tcpdump is not installed: apt-get install tcpdump, or use --capture scapy.")
        self.interface = interface
        self.pcap_path = Path(pcap_path) if pcap_path is not None else None
        if self.pcap_path is None:
            fd, name = tempfile.mkstemp(prefix="ipctrace-", suffix=".pcap")
            os.close(fd)
            self._file = Path(name)
        else:
            self._file = self.pcap_path
        self._result: RawCapture | None = None
        self._proc = subprocess.Popen(
            tcpdump_command(tcpdump, interface, self._file),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self._stderr = self._wait_listening()

    def _wait_listening(self) -> bytes:
        """Block until tcpdump says "listening on": its filter is set and capture is live."""
        assert self._proc.stderr is not None
        fd = self._proc.stderr.fileno()
        seen = b""
        deadline = time.monotonic() + START_TIMEOUT
        while b"listening on" not in seen:
            left = deadline - time.monotonic()
            ready = select.select([fd], [], [], max(0.0, left))[0] if left > 0 else []
            chunk = os.read(fd, 4096) if ready else b""
            if not chunk:
                timed_out = not ready
                self._proc.kill()
                self._proc.wait()
                self._cleanup_temp()
                lines = seen.decode(errors="replace").strip().splitlines()
                if lines:
                    detail = lines[-1].removeprefix("tcpdump: ")
                elif timed_out:
                    detail = f"it printed nothing in {START_TIMEOUT:.0f} s"
                else:
                    detail = f"it exited with code {self._proc.returncode}"
                raise CaptureUnavailable(f"tcpdump could not start capturing on {self.interface}: {detail}.")
            seen += chunk
        return seen

    def stop(self, drain: float | None = None) -> RawCapture:
        """Let tcpdump write the tail (until its pcap stops growing, or `drain` seconds), SIGINT it, read it."""
        if self._result is not None:
            return self._result
        if drain is None:
            self._wait_written()
        elif drain > 0:
            time.sleep(drain)  # asked for: keep capturing that long
        self._proc.send_signal(signal.SIGINT)
        try:
            _out, err = self._proc.communicate(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            _out, err = self._proc.communicate()
        stderr = self._stderr + (err or b"")
        match = _DROPS.search(stderr)
        raw = read_pcap(self._file)
        self._cleanup_temp()
        self._result = RawCapture(
            frames=raw.frames,
            linktype=raw.linktype,
            kernel_drops=int(match.group(1)) if match else None,
            backend=self.backend,
        )
        return self._result

    def _wait_written(self) -> None:
        """Until tcpdump's pcap has not grown for a moment (it writes each packet as it reads it), at most MAX_DRAIN."""
        deadline = time.monotonic() + MAX_DRAIN
        size = -1
        while time.monotonic() < deadline:
            now = self._file.stat().st_size if self._file.exists() else 0
            if now == size:
                return
            size = now
            time.sleep(WRITE_QUIET)

    def _cleanup_temp(self) -> None:
        if self.pcap_path is None:
            self._file.unlink(missing_ok=True)
