"""socket.sendfile of a temporary file to a forked reader over TCP."""

import os
import socket
import tempfile

data = bytes(range(256)) * 48  # 12,288 bytes
with tempfile.TemporaryFile() as f:
    f.write(data)
    f.flush()
    srv = socket.create_server(("127.0.0.1", 0))
    pid = os.fork()
    if pid == 0:
        with socket.create_connection(srv.getsockname()) as c:
            got = b""
            while chunk := c.recv(65536):
                got += chunk
        print(len(got), got == data)
        os._exit(0)
    conn, _ = srv.accept()
    f.seek(0)
    print(conn.sendfile(f))
    conn.close()
    os.waitpid(pid, 0)
