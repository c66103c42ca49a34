#!/usr/bin/env python3
"""Starts Debian's nginx with deploy/nginx's configuration in front of two stand-in processes
and checks what Parley relies on. Part of tests/deploy/check.sh; needs no root (as root, nginx
runs as `nobody`) and no network beyond 127.0.0.0/8.

Usage: nginx_live.py NGINX RENDER_SH WORKDIR
       nginx_live.py --upstream PORT NAME   (a stand-in process; used by the first form)

Checks: requests are proxied with X-Forwarded-For, X-Real-IP, X-Forwarded-Proto, Host and
X-Request-Id (the client's, else nginx's); a WebSocket upgrade on /socket.io/ is tunnelled both
ways; every /socket.io/ request from one client address reaches one process, with or without a
sid, while different addresses spread over both; other paths are balanced; bodies over
client_max_body_size get 413; /metrics is refused; when a process dies, new sessions go to the
other one.
"""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from http.client import HTTPConnection
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_BODY = 4096


class Upstream(BaseHTTPRequestHandler):
    """Answers JSON describing the request; tunnels raw bytes back after a WebSocket upgrade."""

    protocol_version = "HTTP/1.1"
    name = ""

    def log_message(self, fmt, *args):
        pass

    def answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.headers.get("Upgrade", "").lower() == "websocket":
            self.send_response(101, "Switching Protocols")
            self.send_header("Upgrade", "websocket")
            self.send_header("Connection", "Upgrade")
            self.end_headers()
            self.wfile.flush()
            while data := self.connection.recv(4096):
                self.connection.sendall(data)
            self.close_connection = True
            return
        reply = json.dumps({
            "name": self.name,
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body_bytes": len(body),
        }).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    do_GET = answer
    do_POST = answer


def serve_upstream(port, name):
    Upstream.name = name
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer(("127.0.0.1", port), Upstream).serve_forever()


def free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def fail(message):
    print(f"nginx_live: FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def request(port, method, path, *, source="127.0.0.1", headers=None, body=None):
    conn = HTTPConnection("127.0.0.1", port, timeout=10, source_address=(source, 0))
    try:
        conn.request(method, path, body=body, headers=headers or {})
        res = conn.getresponse()
        data = res.read()
        return res.status, dict((k.lower(), v) for k, v in res.getheaders()), data
    finally:
        conn.close()


def wait_until(what, check, seconds=10):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.05)
    fail(f"timed out waiting for {what}")


def main(nginx, render_sh, workdir):
    proxy_port, port_a, port_b = free_ports(3)
    children = []

    def start_upstream(port, name):
        proc = subprocess.Popen([sys.executable, __file__, "--upstream", str(port), name])
        children.append(proc)
        wait_until(f"upstream {name}", lambda: request(port, "GET", "/")[0] == 200)
        return proc

    prefix = os.path.join(workdir, "nginx")
    try:
        up_a = start_upstream(port_a, "A")
        start_upstream(port_b, "B")
        conf = subprocess.run(
            [render_sh, "--prefix", prefix, "--listen", f"127.0.0.1:{proxy_port}",
             "--upstream", f"127.0.0.1:{port_a}", "--upstream", f"127.0.0.1:{port_b}",
             "--max-body", str(MAX_BODY), "--debug-upstream"],
            check=True, capture_output=True, text=True).stdout.strip()
        as_user = []
        if os.geteuid() == 0:  # show that no root is needed; nginx's workers need the folder too
            os.chmod(workdir, 0o755)
            subprocess.run(["chown", "-R", "nobody", prefix], check=True)
            as_user = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"]
        test = subprocess.run(as_user + [nginx, "-t", "-p", prefix, "-c", conf],
                              capture_output=True, text=True)
        if test.returncode != 0:
            fail(f"nginx -t:\n{test.stderr}")
        with open(os.path.join(workdir, "nginx.stderr"), "w") as stderr:
            proc = subprocess.Popen(
                as_user + [nginx, "-p", prefix, "-c", conf, "-g", "daemon off;"], stderr=stderr)
        children.append(proc)
        wait_until("nginx", lambda: request(proxy_port, "GET", "/healthz")[0] == 200)

        # Proxy headers.
        status, _, data = request(proxy_port, "GET", "/api/x", headers={"X-Request-Id": "abc-123"})
        seen = json.loads(data)
        h = seen["headers"]
        if status != 200 or h.get("x-request-id") != "abc-123":
            fail(f"the client's X-Request-Id is not passed on: {seen}")
        for name, want in [("x-forwarded-for", "127.0.0.1"), ("x-real-ip", "127.0.0.1"),
                           ("x-forwarded-proto", "http"), ("host", "127.0.0.1")]:
            if h.get(name) != want:
                fail(f"{name} is {h.get(name)!r}, expected {want!r}")
        if "upgrade" in h or h.get("connection", "").lower() == "upgrade":
            fail(f"a plain request was sent as an upgrade: {h}")
        _, _, data = request(proxy_port, "GET", "/api/x")
        if not re.fullmatch(r"[0-9a-f]{32}", json.loads(data)["headers"].get("x-request-id", "")):
            fail("nginx does not add its own X-Request-Id")

        # Stickiness: one address, one process, for the handshake and the session's requests.
        where = {}
        for last in range(2, 60):
            if len(where) >= 6 and set(where.values()) == {"A", "B"}:
                break
            source = f"127.0.0.{last}"
            names = set()
            for path in ["/socket.io/?EIO=4&transport=polling&t=1",
                         "/socket.io/?EIO=4&transport=polling&sid=AAAA",
                         "/socket.io/?EIO=4&transport=polling&sid=BBBB",
                         "/socket.io/?EIO=4&transport=polling&t=2"]:
                for method in ["GET", "POST"]:
                    status, headers, data = request(proxy_port, method, path, source=source,
                                                    body=b"4hello" if method == "POST" else None)
                    if status != 200:
                        fail(f"{method} {path} from {source}: {status}")
                    names.add(json.loads(data)["name"])
                    if json.loads(data)["headers"].get("x-forwarded-for") != source:
                        fail(f"X-Forwarded-For is not {source}: {method} {path} {data!r}")
            if len(names) != 1:
                fail(f"requests of {source} reached {sorted(names)}: not sticky")
            where[source] = names.pop()
        if set(where.values()) != {"A", "B"}:
            fail(f"{len(where)} client addresses all reached one process: {where}")
        # Stateless paths are balanced over both.
        names = {json.loads(request(proxy_port, "GET", "/api/rooms")[2])["name"] for _ in range(6)}
        if names != {"A", "B"}:
            fail(f"/api/ requests are not balanced: {names}")

        # WebSocket upgrade, tunnelled both ways.
        with socket.create_connection(("127.0.0.1", proxy_port), timeout=10) as s:
            s.sendall(b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\n"
                      b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
                      b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = s.recv(4096)
                if not chunk:
                    fail("connection closed during the upgrade")
                head += chunk
            if not head.startswith(b"HTTP/1.1 101"):
                fail(f"upgrade answered {head.splitlines()[0]!r}")
            rest = head.split(b"\r\n\r\n", 1)[1]
            s.sendall(b"2probe")
            while len(rest) < 6:
                rest += s.recv(4096)
            if rest != b"2probe":
                fail(f"the upgraded connection echoed {rest!r}")

        # Body limit and the refused /metrics.
        status, _, data = request(proxy_port, "POST", "/api/upload-audio", body=b"x" * (MAX_BODY - 1))
        if status != 200 or json.loads(data)["body_bytes"] != MAX_BODY - 1:
            fail(f"a body under the limit got {status}")
        if (status := request(proxy_port, "POST", "/api/upload-audio", body=b"x" * (MAX_BODY + 1))[0]) != 413:
            fail(f"a body over client_max_body_size got {status}, not 413")
        if (status := request(proxy_port, "GET", "/metrics")[0]) != 403:
            fail(f"/metrics through the proxy got {status}, not 403")

        # A process dies: the clients it served open new sessions on the other one.
        up_a.send_signal(signal.SIGKILL)
        up_a.wait()
        for source, name in where.items():
            if name != "A":
                continue
            status, _, data = request(proxy_port, "GET", "/socket.io/?EIO=4&transport=polling",
                                      source=source)
            if status != 200 or json.loads(data)["name"] != "B":
                fail(f"after A died, {source} got {status} {data[:80]!r}")
        print(f"nginx_live: ok (sticky: {where})")
    finally:
        for proc in reversed(children):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--upstream":
        serve_upstream(int(sys.argv[2]), sys.argv[3])
    elif len(sys.argv) == 4:
        main(*sys.argv[1:])
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
