"""multiprocessing Pool with the fork start method: tasks and results through its pipes."""

import multiprocessing


def square(n: int) -> int:
    return n * n


if __name__ == "__main__":
    with multiprocessing.get_context("fork").Pool(2) as pool:
        print(sum(pool.map(square, range(100))))
