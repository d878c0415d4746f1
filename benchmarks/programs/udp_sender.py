"""Workload: send UDP datagrams over loopback at a given rate (or as fast as possible).

    python udp_sender.py --rate 50000 --count 100000 [--size 32]

Binds a receiving socket on 127.0.0.1 (it never reads: the packets are for
the capture, which sees them before UDP delivery) and sends `count`
datagrams to it from a second socket, paced to `rate` per second (0: no
pacing, the sender's limit). Pacing sends in small bursts and sleeps when
ahead of schedule, so the sender does not spin a core. Prints one JSON line:
the destination port (to count our own packets on a busy `lo`), datagrams
sent and the rate achieved.
"""

import argparse
import json
import socket
import struct
import time


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=0.0)
    parser.add_argument("--count", type=int, default=10000)
    parser.add_argument("--size", type=int, default=32)
    args = parser.parse_args()
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    dest = rx.getsockname()
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tx.bind(("127.0.0.1", 0))
    pad = b"." * max(0, args.size - 4)
    send = tx.sendto
    pack = struct.Struct("!I").pack
    clock = time.perf_counter_ns
    interval = 1e9 / args.rate if args.rate > 0 else 0.0
    sent = errors = 0
    start = clock()
    for i in range(args.count):
        if interval:
            ahead = start + i * interval - clock()
            if ahead > 200_000:  # more than 0.2 ms early: sleep instead of spinning
                time.sleep(ahead / 1e9)
        try:
            send(pack(i) + pad, dest)
            sent += 1
        except OSError:  # ENOBUFS and the like: not sent, not expected in the capture
            errors += 1
    elapsed = (clock() - start) / 1e9
    print(
        json.dumps(
            {
                "port": dest[1],
                "sent": sent,
                "errors": errors,
                "seconds": elapsed,
                "rate": sent / elapsed if elapsed else 0.0,
            }
        )
    )


if __name__ == "__main__":
    main()
