"""Four threads write into one pipe; the main thread reads it all."""

import os
import threading

r, w = os.pipe()


def work(n: int) -> None:
    for i in range(25):
        os.write(w, b"%d:%02d;" % (n, i))


threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
os.close(w)
got = b""
while chunk := os.read(r, 65536):
    got += chunk
print(len(got))
