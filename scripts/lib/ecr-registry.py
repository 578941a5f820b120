"""A stand-in for an ECR registry's front door (GET /v2/ over TLS) for scripts/bench, because no ECR
registry can run here (tests/common/ecr_registry.rs is the tests' twin and says what it copies): 401 with
ECR's Basic challenge, 200 for the one credential given. Prints its port, then serves until killed.

usage: ecr-registry.py HOST CERT KEY BASIC  (BASIC: base64 of user:password)
"""

import http.server
import ssl
import sys

host, cert, key, basic = sys.argv[1:5]


class Registry(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body are two writes: without this, Nagle and delayed ACKs add 40 ms to each answer.
    disable_nagle_algorithm = True

    def do_GET(self):
        if self.headers.get("Authorization") == f"Basic {basic}":
            status, body = 200, b"{}"
        else:
            status, body = 401, b"Not Authorized\n"
        self.send_response(status)
        if status == 401:
            realm = f'Basic realm="https://{host}/",service="ecr.amazonaws.com"'
            self.send_header("WWW-Authenticate", realm)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Registry)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
server.socket = context.wrap_socket(server.socket, server_side=True)
print(server.server_address[1], flush=True)
server.serve_forever()
