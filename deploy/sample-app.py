#!/usr/bin/env python3
"""A protected sample app: a page that shows the identity headers the proxy gave it.

    python3 deploy/sample-app.py [PORT] [BIND]     # default 8080 on 127.0.0.1

It trusts X-Auth-* because only the proxy can reach it (deploy/nginx.conf checks every
request with the session manager's GET /api/auth/verify first)."""

import html
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

FIELDS = ["User-Id", "Email", "Name", "Session-Id"]


class Page(BaseHTTPRequestHandler):
    def do_GET(self):
        rows = "".join(
            "<tr><th>X-Auth-{0}</th><td id='{1}'>{2}</td></tr>".format(
                field,
                field.lower(),
                # Non-ASCII text arrives percent-encoded as UTF-8.
                html.escape(unquote(self.headers.get("X-Auth-" + field, ""))),
            )
            for field in FIELDS
        )
        body = (
            "<!doctype html><meta charset='utf-8'><title>Protected app</title>"
            "<h1>Protected app</h1><p>Signed in through the session manager as:</p>"
            "<table id='identity'>{0}</table><p><a href='/'>Your sessions</a></p>"
        ).format(rows).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8080
    bind = sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"
    ThreadingHTTPServer((bind, port), Page).serve_forever()
