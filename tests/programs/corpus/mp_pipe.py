"""multiprocessing.Pipe between a parent and a forked Process."""

import multiprocessing


def child(conn) -> None:
    for _ in range(3):
        conn.send(conn.recv() * 2)
    conn.close()


if __name__ == "__main__":
    ctx = multiprocessing.get_context("fork")
    a, b = ctx.Pipe()
    p = ctx.Process(target=child, args=(b,))
    p.start()
    for n in (1, 2, 3):
        a.send(n)
        print(a.recv())
    p.join()
