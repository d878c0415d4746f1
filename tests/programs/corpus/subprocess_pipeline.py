"""A producer | consumer pipeline of two Python children, the parent reading the consumer's output."""

import subprocess
import sys

producer = subprocess.Popen([sys.executable, "-c", "for i in range(200): print('item', i)"], stdout=subprocess.PIPE)
consumer = subprocess.Popen(
    [sys.executable, "-c", "import sys; print(sum(1 for _ in sys.stdin))"],
    stdin=producer.stdout,
    stdout=subprocess.PIPE,
)
producer.stdout.close()
print("lines counted:", consumer.communicate()[0].decode().strip())
producer.wait()
