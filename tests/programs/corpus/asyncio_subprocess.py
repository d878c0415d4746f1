"""asyncio.create_subprocess_exec with pipes (the child watcher's self-pipe too)."""

import asyncio
import sys


async def main():
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "import sys; print(sys.stdin.read()[::-1])",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await proc.communicate(b"reversed by a child")
    print(out.decode().strip(), proc.returncode)


asyncio.run(main())
