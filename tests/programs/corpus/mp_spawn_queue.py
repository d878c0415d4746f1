"""multiprocessing with the spawn start method: the child's start-up data and a Queue."""

import multiprocessing


def work(q) -> None:
    q.put(["result", 42])


if __name__ == "__main__":
    ctx = multiprocessing.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=work, args=(q,))
    p.start()
    print(q.get())
    p.join()
