"""http.server in a thread, http.client in the main thread (TCP on port 0)."""

import http.client
import http.server
import threading


class Quiet(http.server.SimpleHTTPRequestHandler):
    def do_GET(self):
        body = b"hello over http\n" * 10
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


server = http.server.HTTPServer(("127.0.0.1", 0), Quiet)
thread = threading.Thread(target=server.handle_request)
thread.start()
conn = http.client.HTTPConnection("127.0.0.1", server.server_address[1])
conn.request("GET", "/")
print(conn.getresponse().read()[:16])
conn.close()
thread.join()
server.server_close()
