#!/usr/bin/env python3
"""Capture proxy for the Developer-reply measurement (benches/dev_replies/measure.sh).

Listens on 127.0.0.1:PORT and forwards every request to the real model server UPSTREAM, except
the first chat request (`POST /v1/chat/completions` or `/api/chat`): its body is saved to OUT and
answered with HTTP 400, so the product's run stops after building its real first prompt (the
binary does not retry a 400). Usage: capture_proxy.py PORT UPSTREAM OUT
"""
import http.server
import sys
import urllib.request
import urllib.error

PORT, UPSTREAM, OUT = int(sys.argv[1]), sys.argv[2].rstrip("/"), sys.argv[3]


class Handler(http.server.BaseHTTPRequestHandler):
    def _forward(self, body):
        req = urllib.request.Request(UPSTREAM + self.path, data=body, method=self.command)
        for k, v in self.headers.items():
            if k.lower() not in ("host", "content-length", "connection"):
                req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=600) as r:
                status, headers, data = r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            status, headers, data = e.code, e.headers, e.read()
        self.send_response(status)
        for k, v in headers.items():
            if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self._forward(None)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path in ("/v1/chat/completions", "/api/chat"):
            with open(OUT, "wb") as f:
                f.write(body)
            msg = b'{"error": {"message": "capture proxy: prompt saved, not answered", "type": "invalid_request_error"}}'
            self.send_response(400)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(msg)))
            self.end_headers()
            self.wfile.write(msg)
            return
        self._forward(body)

    def log_message(self, *a):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
