#!/usr/bin/env bash
# bench/websocket.sh: WebSocket echo round trips per second and server CPU
# per message, Postern's `websocket_echo` example against an axum 0.8
# WebSocket echo server (tokio-tungstenite), both release builds on this
# machine, measured by the same client in interleaved rounds.
#
#   bench/websocket.sh [OUT_DIR]                 (OUT_DIR: <target dir>/websocket-bench)
#   ROUNDS=3 CONNS=16 MESSAGES=200 bench/websocket.sh    (a short run)
#
# What it does:
#  1. Builds `cargo build --release --example websocket_echo` and the peers in
#     bench/websocket/ (their own workspace: axum_ws_echo, ws_client), starts
#     both servers with `--port 0` and reads each one's `listening on` line.
#  2. ROUNDS times, in turn (Postern first in odd rounds, axum first in even
#     ones, so that neither always runs on a warmer or quieter machine):
#     `ws_client` opens CONNS connections, then each makes MESSAGES round
#     trips of a 32-byte text message (send, wait for the echo, compare),
#     all at once; it prints round trips per second and the server's CPU
#     time (utime + stime from /proc/PID/stat) over the timed part.
#  3. Prints each round's figures and Postern/axum ratios, then the median
#     ratios (OUT_DIR/rounds.jsonl keeps the raw lines), and each server's
#     peak RSS; stops both servers.
# The machine's load moves the absolute figures from round to round: compare
# the ratios of one round, never figures of different runs.
# Exit status: 0 when every round ran and every echo was right; 1 otherwise.
#
# Environment (defaults in brackets):
#   ROUNDS [6]  CONNS [32]  MESSAGES [500] (round trips per connection)
#   POSTERN_SERVER_CMD  a command (word-split) that starts the Postern side on a
#                       free port and prints `listening on http://HOST:PORT`
#                       [the websocket_echo example, --port 0]
#   WS_PATH [/echo]     the path both servers echo on
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
target_dir=${CARGO_TARGET_DIR:-$(cargo metadata --manifest-path "$root/Cargo.toml" \
    --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')}
out=${1:-$target_dir/websocket-bench}
rounds=${ROUNDS:-6}
conns=${CONNS:-32}
messages=${MESSAGES:-500}
path=${WS_PATH:-/echo}

say() { printf 'websocket.sh: %s\n' "$*" >&2; }

peers_target=$target_dir/websocket-bench-peers
cargo build --quiet --release --manifest-path "$root/bench/websocket/Cargo.toml" \
    --target-dir "$peers_target"
client=$peers_target/release/ws_client
if [[ -n ${POSTERN_SERVER_CMD:-} ]]; then
    read -r -a postern_cmd <<<"$POSTERN_SERVER_CMD"
else
    cargo build --quiet --release --manifest-path "$root/Cargo.toml" --example websocket_echo
    postern_cmd=("$target_dir/release/examples/websocket_echo" --port 0)
fi
axum_cmd=("$peers_target/release/axum_ws_echo" --port 0)

mkdir -p "$out"
: >"$out/rounds.jsonl"
declare -A pid address
started=()
stop_all() {
    for name in ${started[@]+"${started[@]}"}; do
        kill -INT "${pid[$name]}" 2>/dev/null || true
    done
    sleep 0.5
    for name in ${started[@]+"${started[@]}"}; do
        kill -TERM "${pid[$name]}" 2>/dev/null || true
        wait "${pid[$name]}" 2>/dev/null || true
    done
}
trap stop_all EXIT

start() {
    local name=$1
    shift
    "$@" >"$out/$name.log" 2>&1 &
    pid[$name]=$!
    started+=("$name")
    for _ in $(seq 300); do
        address[$name]=$(sed -n 's|^listening on http://\([^/]*\)/\{0,1\}$|\1|p' "$out/$name.log" | head -n 1)
        [[ -n ${address[$name]} ]] && return 0
        if ! kill -0 "${pid[$name]}" 2>/dev/null; then
            say "$name exited; its log:"
            cat "$out/$name.log" >&2
            exit 1
        fi
        sleep 0.1
    done
    say "no 'listening on http://' line from $name within 30 s; see $out/$name.log"
    exit 1
}
start postern "${postern_cmd[@]}"
start axum "${axum_cmd[@]}"
echo "postern: ${postern_cmd[*]} on ${address[postern]}; axum: ${axum_cmd[*]} on ${address[axum]}"
echo "$rounds rounds of $conns connections x $messages round trips of 32 bytes; $(nproc) CPUs"

for round in $(seq "$rounds"); do
    order=(postern axum)
    ((round % 2 == 0)) && order=(axum postern)
    for name in "${order[@]}"; do
        if ! line=$("$client" "ws://${address[$name]}$path" --conns "$conns" \
            --rounds "$messages" --pid "${pid[$name]}"); then
            say "round $round against $name failed"
            exit 1
        fi
        printf '{"round":%d,"server":"%s",%s\n' "$round" "$name" "${line#\{}" >>"$out/rounds.jsonl"
    done
done

peak_rss() { sed -n 's/^VmHWM:[[:space:]]*//p' "/proc/$1/status"; }
python3 - "$out/rounds.jsonl" "$(peak_rss "${pid[postern]}")" "$(peak_rss "${pid[axum]}")" <<'PY'
import json, statistics, sys

rows = [json.loads(line) for line in open(sys.argv[1])]
by = {}
for row in rows:
    by.setdefault(row["round"], {})[row["server"]] = row
print(f"{'round':>5} {'postern rt/s':>13} {'axum rt/s':>10} {'ratio':>6}"
      f" {'postern us/msg':>15} {'axum us/msg':>12} {'ratio':>6}")
rate_ratios, cpu_ratios = [], []
for n in sorted(by):
    p, a = by[n]["postern"], by[n]["axum"]
    rate = p["round_trips_per_s"] / a["round_trips_per_s"]
    cpu = p["server_cpu_us_per_msg"] / a["server_cpu_us_per_msg"]
    rate_ratios.append(rate)
    cpu_ratios.append(cpu)
    print(f"{n:>5} {p['round_trips_per_s']:>13.0f} {a['round_trips_per_s']:>10.0f} {rate:>6.2f}"
          f" {p['server_cpu_us_per_msg']:>15.2f} {a['server_cpu_us_per_msg']:>12.2f} {cpu:>6.2f}")
print(f"median Postern/axum: round trips per second {statistics.median(rate_ratios):.2f}"
      f" (min {min(rate_ratios):.2f}, max {max(rate_ratios):.2f}),"
      f" server CPU per message {statistics.median(cpu_ratios):.2f}"
      f" (min {min(cpu_ratios):.2f}, max {max(cpu_ratios):.2f})")
print(f"peak RSS: postern {sys.argv[2]}, axum {sys.argv[3]}")
PY
echo "raw figures: $out/rounds.jsonl"
