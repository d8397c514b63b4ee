#!/usr/bin/env python3
"""Idle keep-alive memory of one server: start it, warm it up with one
request, read its RSS, open N connections to 127.0.0.1 that each make one
keep-alive request and read the whole answer, read the RSS again while they
sit idle, and print `rss_before_kib rss_after_kib per_connection_bytes`."""

import socket
import subprocess
import sys
import time


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def request(sock, host):
    sock.sendall(f"GET / HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())


def read_answer(sock):
    """Read one response with a Content-Length body; return its status line."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise RuntimeError("closed before the head")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise RuntimeError("closed in the body")
        body += chunk
    return head.split(b"\r\n")[0].decode()


def main():
    count = int(sys.argv[1])
    command = sys.argv[2:]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline()
        while line.startswith("==") or line.startswith("--"):
            line = server.stdout.readline()
        if not line.startswith("listening on http://"):
            raise RuntimeError(f"unexpected first line: {line!r}")
        host, port = line.strip().removeprefix("listening on http://").rsplit(":", 1)
        addr = (host, int(port))
        # Warm-up: one-time allocations (first request, lazy statics) are
        # not per-connection costs.
        with socket.create_connection(addr) as warm:
            request(warm, f"{host}:{port}")
            read_answer(warm)
        time.sleep(0.5)
        before = rss_kib(server.pid)
        socks = []
        for _ in range(count):
            sock = socket.create_connection(addr)
            request(sock, f"{host}:{port}")
            socks.append(sock)
        for sock in socks:
            status = read_answer(sock)
            if not status.startswith("HTTP/1.1 200"):
                raise RuntimeError(f"unexpected answer: {status}")
        time.sleep(1.0)
        after = rss_kib(server.pid)
        if server.poll() is not None:
            raise RuntimeError("the server exited")
        print(before, after, round((after - before) * 1024 / count))
        for sock in socks:
            sock.close()
    finally:
        # SIGTERM lets a heap profiler (valgrind) write its report.
        server.terminate()
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


if __name__ == "__main__":
    main()
