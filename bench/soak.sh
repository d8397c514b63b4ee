#!/usr/bin/env bash
# bench/soak.sh: a normal load against an example server while attackers
# work on it, all on 127.0.0.1, for a bounded time; then a summary.
#
#   bench/soak.sh [OUT_DIR]                  (OUT_DIR: <target dir>/soak)
#   DURATION=20 BASELINE=0 bench/soak.sh     (a short run)
#
# What it does, each step under a timeout:
#  1. Raises `ulimit -n` (the server holds ~1,500 connections), installs what
#     is missing (wrk with apt-get when root; a Python venv with `h2` under
#     $SOAK_CACHE, kept between runs), builds `cargo build --release
#     --example bench_peer` and starts it with `--port 0`, reading the port
#     from its `listening on` line.
#  2. Baseline: wrk alone for BASELINE s, the figure to compare with.
#  3. For DURATION s: the normal client, wrk with WRK_CONNS connections on
#     GET / (every ECHO_EVERY-th request a 1 KiB POST /echo; see
#     bench/soak/normal.lua), together with the attackers in ATTACKS:
#       slowloris       1,000 connections sending a request head that never ends
#       slow_body       300 POST /echo sending 16 bytes of body every 5 s
#       h2_stall        100 HTTP/2 clients, 4 POST /echo streams each, whose
#                       large echoed responses they never take: half (256 KiB
#                       bodies) never send WINDOW_UPDATE; half (1 MiB bodies,
#                       more than loopback's socket buffers hold) grant a
#                       16 MiB window, then stop reading the socket
#       h2_rapid_reset  4 HTTP/2 connections sending HEADERS + RST_STREAM in
#                       batches of 50, as fast as they can (RAPID_RESET_RATE
#                       caps it), reconnecting at once when the server cuts
#       upload_hold     200 POST /echo announcing 30 MiB, all but the last byte
#                       sent as fast as the server takes it, then held: the
#                       server's budget for buffered bodies (256 MiB) bounds
#                       what it keeps; the rest get 503, held bodies 408
#     Each attacker reopens what the server closes, so the pressure lasts the
#     whole run, and counts the connections the server closed.
#  4. Every second: the server's VmRSS and its open connections (socket fds in
#     /proc/PID/fd less those it had before the first client; `ss` count of
#     established connections to its port beside it).
#     At the end: VmHWM, the connections left at the end of the load and 3 s
#     after the attackers left.
#  5. Prints the summary (also OUT_DIR/summary.txt, summary.json): normal
#     client req/s, p99, errors (socket errors + non-2xx) under attack and in
#     the baseline; server peak RSS; max and final open connections; per
#     attacker: opened, closed by the server, how long the server let them
#     live, how it ended them.
# Exit status: 0 when the normal client saw no error and the peak RSS stayed
# under MAX_RSS_MIB; 1 otherwise; 2 when something could not be set up.
# Every process it started is stopped on exit.
#
# Environment (defaults in brackets):
#   DURATION [60]  BASELINE [10]  WRK_CONNS [4]  WRK_THREADS [1]
#   WRK_TIMEOUT [2s] (a slower answer is a wrk timeout error)  ECHO_EVERY [4]
#   ATTACKS ["slowloris slow_body h2_stall h2_rapid_reset"]  ("" = no attack)
#   SLOWLORIS_CONNS [1000]  SLOW_BODY_CONNS [300]  H2_STALL_CONNS [100]
#   RAPID_RESET_CONNS [4]  RAPID_RESET_RATE [0 = no cap, streams/s]
#   MAX_RSS_MIB [512]  SERVER (a built server binary taking --port; skips the
#   build)  EXAMPLE [bench_peer]  SOAK_CACHE [$XDG_CACHE_HOME/postern-soak]
#
# Adding an attacker: write `attack_NAME` below (it starts one background
# process with `spawn NAME ...` that writes OUT_DIR/NAME.json in the shape
# bench/soak/attack.py writes) and add NAME to ATTACKS. For a Python one, add
# its connection coroutine to ATTACKS in bench/soak/attack.py and call
# `py_attack NAME --conns N ...`.

# Functions run from traps and as "attack_$name" look unreachable to shellcheck.
# shellcheck disable=SC2317
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
DURATION=${DURATION:-60}
BASELINE=${BASELINE:-10}
WRK_CONNS=${WRK_CONNS:-4}
WRK_THREADS=${WRK_THREADS:-1}
WRK_TIMEOUT=${WRK_TIMEOUT:-2s}
export ECHO_EVERY=${ECHO_EVERY:-4}
ATTACKS=${ATTACKS-slowloris slow_body h2_stall h2_rapid_reset upload_hold}
MAX_RSS_MIB=${MAX_RSS_MIB:-512}
EXAMPLE=${EXAMPLE:-bench_peer}
cache=${SOAK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/postern-soak}
host=127.0.0.1

say() { printf 'soak: %s\n' "$*" >&2; }
die() {
    say "$*"
    exit 2
}

# --- processes we started, stopped on any exit --------------------------------
pids=()
server=
stop_pid() { # PID: TERM, then KILL after 3 s
    kill -0 "$1" 2>/dev/null || return 0
    kill -TERM "$1" 2>/dev/null || true
    for _ in $(seq 30); do
        kill -0 "$1" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}
cleanup() {
    local pid
    for pid in ${pids[@]+"${pids[@]}"}; do stop_pid "$pid"; done
    [[ -n $server ]] && stop_pid "$server"
    return 0
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# spawn NAME CMD...: start CMD in the background, output in OUT_DIR/NAME.log.
spawn() {
    local name=$1
    shift
    "$@" >"$out/$name.log" 2>&1 &
    pids+=($!)
}

# --- setup ----------------------------------------------------------------------
[[ $DURATION =~ ^[0-9]+$ && $DURATION -gt 0 ]] || die "DURATION must be a whole number of seconds"
[[ $BASELINE =~ ^[0-9]+$ ]] || die "BASELINE must be a whole number of seconds"

# The server holds one fd per connection: 1,400 attack connections and more.
# Raise the soft limit to 16,384 (the hard one too when it is lower and we
# may); never lower either.
want_fds=16384
limit() { [[ $1 == unlimited ]] && echo 1048576 || echo "$1"; }
if (($(limit "$(ulimit -Hn)") < want_fds)); then ulimit -Hn "$want_fds" 2>/dev/null || true; fi
hard=$(limit "$(ulimit -Hn)")
if (($(limit "$(ulimit -n)") < want_fds)); then ulimit -n "$((hard < want_fds ? hard : want_fds))"; fi
(($(limit "$(ulimit -n)") >= 4096)) || die "ulimit -n is $(ulimit -n) and cannot be raised to 4096"

apt_install() {
    [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null || return 1
    export DEBIAN_FRONTEND=noninteractive
    timeout 600 apt-get install -y -q "$@" >&2 ||
        { timeout 600 apt-get update -q >&2 && timeout 600 apt-get install -y -q "$@" >&2; }
}
command -v wrk >/dev/null || apt_install wrk || die "wrk is missing: install Debian's wrk package"
command -v ss >/dev/null || apt_install iproute2 || die "ss is missing: install iproute2"

venv=$cache/venv
if ! timeout 30 "$venv/bin/python" -c 'import h2' 2>/dev/null; then
    say "creating $venv with h2"
    mkdir -p "$cache"
    rm -rf "$venv"
    timeout 120 python3 -m venv "$venv" || { apt_install python3-venv && timeout 120 python3 -m venv "$venv"; } ||
        die "python3 -m venv failed"
    timeout 300 "$venv/bin/pip" install -q 'h2>=4.1,<5' || die "pip install h2 failed"
fi

target_dir=${CARGO_TARGET_DIR:-$(timeout 60 cargo metadata --manifest-path "$root/Cargo.toml" \
    --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')}
out=${1:-$target_dir/soak}
mkdir -p "$out"
rm -f "$out"/*.json "$out"/*.log "$out"/*.txt "$out"/samples.csv "$out"/meta.env

if [[ -n ${SERVER:-} ]]; then
    server_bin=$SERVER
else
    say "building the $EXAMPLE example (release)"
    timeout "${BUILD_TIMEOUT:-1800}" cargo build --quiet --release \
        --manifest-path "$root/Cargo.toml" --example "$EXAMPLE" || die "cargo build failed"
    server_bin=$target_dir/release/examples/$EXAMPLE
fi
[[ -x $server_bin ]] || die "no server binary at $server_bin"

"$server_bin" --port 0 >"$out/server.log" 2>&1 &
server=$!
port=
for _ in $(seq 300); do
    port=$(sed -n "s|^listening on \(http://\)\{0,1\}$host:\([0-9]*\)/\{0,1\}$|\2|p" "$out/server.log" | head -n 1)
    [[ -n $port ]] && break
    kill -0 "$server" 2>/dev/null || die "the server exited: $(cat "$out/server.log")"
    sleep 0.1
done
[[ -n $port ]] || die "no 'listening on $host:PORT' line within 30 s; see $out/server.log"
say "server $server_bin (pid $server) on $host:$port; fd limit $(ulimit -n); output in $out"

# --- sampling -----------------------------------------------------------------
# One line a second: time, VmRSS (KiB), the server's socket fds less those it
# had before any client came (its listener and a few of the runtime's own),
# and the established TCP connections on its port.
socket_fds() { find "/proc/$server/fd" -lname 'socket:*' 2>/dev/null | wc -l; }
idle_sockets=$(socket_fds)
server_sockets() { echo $(($(socket_fds) - idle_sockets)); }
established() { ss -Htn state established "( sport = :$port )" 2>/dev/null | wc -l; }
status_kb() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$server/status" 2>/dev/null; }
sample() { echo "$EPOCHREALTIME,$(status_kb VmRSS),$(server_sockets),$(established)"; }
echo "t,rss_kb,connections,established" >"$out/samples.csv"
(
    while kill -0 "$server" 2>/dev/null; do
        sample >>"$out/samples.csv"
        sleep 1
    done
) &
pids+=($!)

meta() { echo "$1=$2" >>"$out/meta.env"; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$server/stat" 2>/dev/null || echo 0; }
meta clk_tck "$(getconf CLK_TCK)"
meta duration "$DURATION"
meta baseline "$BASELINE"
meta wrk "wrk -t$WRK_THREADS -c$WRK_CONNS --timeout $WRK_TIMEOUT, ECHO_EVERY=$ECHO_EVERY"
meta attacks "$ATTACKS"
meta max_rss_mib "$MAX_RSS_MIB"
meta server "$server_bin"
meta loadavg "$(cut -d" " -f1-3 /proc/loadavg)"

# run_wrk NAME SECONDS: the normal client, output in OUT_DIR/NAME.txt. In the
# background and waited for, so that a signal to this script stops it at once.
run_wrk() {
    spawn "$1-wrk" timeout -k 5 "$(($2 + 30))" wrk -t"$WRK_THREADS" -c"$WRK_CONNS" -d"$2s" \
        --timeout "$WRK_TIMEOUT" --latency -s "$here/soak/normal.lua" "http://$host:$port/"
    local pid=${pids[-1]} rc=0
    wait "$pid" || rc=$?
    mv "$out/$1-wrk.log" "$out/$1.txt"
    return "$rc"
}

# --- the attackers ----------------------------------------------------------------
# py_attack KIND ARGS...: bench/soak/attack.py KIND against the server; it stops
# by itself 10 s after DURATION at the latest (we TERM it when wrk is done).
py_attack() {
    local kind=$1
    shift
    spawn "$kind" timeout -k 5 "$((DURATION + 20))" "$venv/bin/python" "$here/soak/attack.py" "$kind" \
        --host "$host" --port "$port" --duration "$((DURATION + 10))" --stats "$out/$kind.json" "$@"
}
attack_slowloris() { py_attack slowloris --conns "${SLOWLORIS_CONNS:-1000}" --interval 5; }
attack_slow_body() { py_attack slow_body --conns "${SLOW_BODY_CONNS:-300}" --body 65536 --piece 16 --interval 5; }
attack_h2_stall() {
    py_attack h2_stall --conns "${H2_STALL_CONNS:-100}" --streams 4 --body 262144 \
        --body-no-read 1048576 --interval 5
}
attack_upload_hold() {
    py_attack upload_hold --conns "${UPLOAD_HOLD_CONNS:-200}" --body $((30 * 1024 * 1024))
}
attack_h2_rapid_reset() {
    py_attack h2_rapid_reset --conns "${RAPID_RESET_CONNS:-4}" --batch 50 --rate "${RAPID_RESET_RATE:-0}" \
        --reopen-delay 0.02
}

# --- the run ------------------------------------------------------------------
if ((BASELINE > 0)); then
    say "baseline: wrk alone for ${BASELINE}s"
    meta baseline_start "$EPOCHREALTIME"
    meta baseline_cpu_start "$(cpu_ticks)"
    run_wrk wrk-baseline "$BASELINE" || say "baseline wrk exited with $?"
    meta baseline_end "$EPOCHREALTIME"
    meta baseline_cpu_end "$(cpu_ticks)"
    sleep 1
fi

say "under attack: wrk with [${ATTACKS:-no attackers}] for ${DURATION}s"
first_attacker=${#pids[@]}
meta attack_start "$EPOCHREALTIME"
meta cpu_start "$(cpu_ticks)"
for name in $ATTACKS; do
    declare -F "attack_$name" >/dev/null || die "no attacker attack_$name in $0"
    "attack_$name"
done
attackers=("${pids[@]:first_attacker}")
run_wrk wrk "$DURATION" || say "wrk exited with $?"
meta attack_end "$EPOCHREALTIME"
meta cpu_end "$(cpu_ticks)"
meta end_sample "$(sample)"

# The attackers write their counts when TERMed; 15 s to do so.
for pid in ${attackers[@]+"${attackers[@]}"}; do kill -TERM "$pid" 2>/dev/null || true; done
for _ in $(seq 150); do
    alive=0
    for pid in ${attackers[@]+"${attackers[@]}"}; do kill -0 "$pid" 2>/dev/null && alive=1; done
    ((alive)) || break
    sleep 0.1
done
for pid in ${attackers[@]+"${attackers[@]}"}; do stop_pid "$pid"; done
sleep 3
meta after_sample "$(sample)"
meta vmhwm_kb "$(status_kb VmHWM)"
if kill -0 "$server" 2>/dev/null; then meta server_alive yes; else meta server_alive no; fi

status=0
timeout 60 "$venv/bin/python" "$here/soak/report.py" "$out" | tee "$out/summary.txt" || status=$?
exit "$status"
