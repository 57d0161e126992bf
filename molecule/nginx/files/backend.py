"""Stand-in backend for the nginx scenario: answers JSON with its own name on a unix socket.

Test fixture only (the real apps are Gunicorn services from the app roles). Routes:
/healthz and /hello answer at once, /slow?s=N sleeps N seconds, /echo returns the request's
path and proxy headers, anything else 404.
"""

import json
import os
import socketserver
import sys
import time
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

NAME, SOCKET = sys.argv[1], sys.argv[2]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def address_string(self):
        return "unix"

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Powered-By", "stand-in")
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        url = urlsplit(self.path)
        if url.path in ("/healthz", "/hello"):
            self.reply(200, {"status": "ok", "app": NAME, "message": "hello"})
        elif url.path == "/slow":
            time.sleep(float(parse_qs(url.query).get("s", ["1"])[0]))
            self.reply(200, {"app": NAME, "slept": True})
        elif url.path == "/echo":
            headers = {k.lower(): v for k, v in self.headers.items()}
            self.reply(200, {"app": NAME, "path": self.path, "headers": headers})
        else:
            self.reply(404, {"app": NAME, "error": "not found"})

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(length)
        self.reply(200, {"app": NAME, "received": length})


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    request_queue_size = 1024


if os.path.exists(SOCKET):
    os.unlink(SOCKET)
with Server(SOCKET, Handler) as server:
    os.chmod(SOCKET, 0o666)
    server.serve_forever()
