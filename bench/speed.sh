#!/usr/bin/env bash
# Postern's speed beside raw hyper, axum and actix-web, written to bench/RESULTS.md:
#   1. user-space instructions per request (valgrind callgrind, ../shared/bench/instr.sh):
#      h1 GET /, GET /user/42, POST /echo 4 KiB, h2c GET /: the same figure every run;
#   2. write system calls per request (strace -c) on pipelined h2c (h2load -c4 -m16) and
#      pipelined HTTP/1.1 (h2load --h1 -c4 -m16), 5,000 requests;
#   3. server CPU time per request in interleaved rounds (../shared/bench/run.sh), as ratios.
# The peers are built from ../shared/bench/peers (not copied here); Postern's peer is
# examples/bench_peer.rs. About 10-15 minutes on a 2-core machine once built. Not run in CI.
#
# Knobs: N=2000 (requests per callgrind row), WRITES_N=5000, ROUNDS=3, DUR=3 (CPU harness),
#   PARTS="instr writes cpu", SERVERS="hyper axum actix postern", PEERS_TARGET=<dir>,
#   RESULTS=bench/RESULTS.md, PORT=18093, SKIP_BUILD=1 (use the binaries already built).
# Only 127.0.0.1 is ever contacted.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHARED=${SHARED:-$ROOT/../shared/bench}
N=${N:-2000}
WRITES_N=${WRITES_N:-5000}
ROUNDS=${ROUNDS:-3}
DUR=${DUR:-3}
PARTS=${PARTS:-"instr writes cpu"}
SERVERS=${SERVERS:-"hyper axum actix postern"}
PORT=${PORT:-18093}
RESULTS=${RESULTS:-$ROOT/bench/RESULTS.md}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
PEERS_TARGET=${PEERS_TARGET:-$TARGET/bench-peers}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
[[ -d $SHARED/peers ]] || { log "no peer harness at $SHARED"; exit 1; }
for tool in valgrind callgrind_control strace h2load hey curl; do
  command -v "$tool" >/dev/null || { log "missing $tool (apt-get install valgrind strace nghttp2-client hey curl)"; exit 1; }
done

if [[ -z ${SKIP_BUILD:-} ]]; then
  log "building the peers (release, fat LTO) and Postern's bench_peer (profile bench-peer)"
  CARGO_TARGET_DIR=$PEERS_TARGET cargo build --release --quiet --manifest-path "$SHARED/peers/Cargo.toml"
  (cd "$ROOT" && cargo build --quiet --profile bench-peer --example bench_peer)
fi
declare -A CMD=(
  [hyper]=$PEERS_TARGET/release/peer-hyper
  [axum]=$PEERS_TARGET/release/peer-axum
  [actix]=$PEERS_TARGET/release/peer-actix
  [postern]=$TARGET/bench-peer/examples/bench_peer
)

# ---------------------------------------------------------------- 1. instructions --
instr_table=""
if [[ " $PARTS " == *" instr "* ]]; then
  log "instructions per request under callgrind (N=$N per row)"
  specs=()
  for s in $SERVERS; do specs+=("$s=${CMD[$s]}"); done
  instr_table=$(N=$N PORT=$PORT bash "$SHARED/instr.sh" "${specs[@]}")
  echo "$instr_table" >&2
fi

# ---------------------------------------------------------------------- 2. writes --
# Counts write, writev, sendto and sendmsg calls of the server over WRITES_N requests
# after a warm-up; prints calls per request.
writes_per_request() { # server h2|h1
  local cmd=$1 mode=$2 pid tracer out=$WORK/strace.out flags=()
  [[ $mode == h1 ]] && flags=(--h1)
  PORT=$PORT "$cmd" >/dev/null 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break; sleep 0.1; done
  h2load "${flags[@]}" -n 1000 -c 4 -m 16 "http://127.0.0.1:$PORT/" >/dev/null 2>&1
  strace -c -f -p "$pid" -o "$out" 2>/dev/null &
  tracer=$!
  sleep 1
  h2load "${flags[@]}" -n "$WRITES_N" -c 4 -m 16 "http://127.0.0.1:$PORT/" >/dev/null 2>&1
  sleep 0.5
  kill -INT "$tracer" 2>/dev/null; wait "$tracer" 2>/dev/null || true
  kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true
  awk -v n="$WRITES_N" '$NF ~ /^(write|writev|sendto|sendmsg)$/ { calls += $4 }
    END { printf "%.3f", calls / n }' "$out"
}
writes_table=""
if [[ " $PARTS " == *" writes "* ]]; then
  log "write calls per request, pipelined (h2load -c4 -m16, $WRITES_N requests)"
  writes_table=$(printf '| pipelined, %s requests | %s |\n|---|%s\n' "$WRITES_N" \
    "$(for s in $SERVERS; do printf '%s | ' "$s"; done | sed 's/ | $//')" \
    "$(for _ in $SERVERS; do printf -- '---|'; done)")
  for mode in h2 h1; do
    row="| $mode write calls per request |"
    for s in $SERVERS; do row="$row $(writes_per_request "${CMD[$s]}" "$mode") |"; done
    writes_table="$writes_table"$'\n'"$row"
  done
  echo "$writes_table" >&2
fi

# ------------------------------------------------------------------------- 3. CPU --
cpu_table=""
if [[ " $PARTS " == *" cpu "* ]]; then
  log "CPU time per request, interleaved rounds (ROUNDS=$ROUNDS DUR=$DUR)"
  # run.sh builds beside itself and reads peers/target: give it a writable copy whose
  # target is the peers built above.
  mkdir -p "$WORK/bench/peers"
  cp -r "$SHARED/run.sh" "$SHARED/report.py" "$SHARED/lua" "$WORK/bench/"
  cp -r "$SHARED/peers/Cargo.toml" "$SHARED/peers/Cargo.lock" "$WORK/bench/peers/"
  ln -s "$PEERS_TARGET" "$WORK/bench/peers/target"
  builtins=""
  for s in $SERVERS; do [[ $s == postern ]] || builtins="$builtins $s"; done
  extra=()
  [[ " $SERVERS " == *" postern "* ]] && extra=(EXTRA_NAME=postern "EXTRA_CMD=${CMD[postern]}" EXTRA_H2=1)
  env SKIP_BUILD=1 NO_INSTALL=1 ROUNDS="$ROUNDS" DUR="$DUR" SERVERS="${builtins# }" \
    TESTS="get user echo h2" SAMECORE_TESTS="" UNPINNED_TESTS="" \
    OUT_DIR="$WORK/cpu" RESULTS="$WORK/cpu.md" "${extra[@]}" bash "$WORK/bench/run.sh" >&2
  # The table least moved by the shared machine's noise: server CPU time per request.
  cpu_table=$(awk '/^## Server CPU time per request/ { on = 1; next } /^## / { on = 0 } on' "$WORK/cpu.md")
fi

# ---------------------------------------------------------------------- results --
machine="$(nproc) vCPU, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(uname -sr), $(rustc --version)"
{
  echo "# Postern's speed beside raw hyper, axum and actix-web"
  echo
  echo "Written by \`bench/speed.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC') at commit $(git -C "$ROOT" rev-parse --short HEAD)."
  echo "Machine: $machine."
  echo
  echo "## Method"
  echo
  echo "- **Instructions per request**: each server runs under valgrind's callgrind; after a warm-up"
  echo "  of 500 requests the counters are zeroed, N=$N requests are sent (hey -c 8 for HTTP/1.1,"
  echo "  h2load -c4 -m8 for h2c) and user-space instructions / N are printed (\`../shared/bench/instr.sh\`)."
  echo "  Kernel work is not counted. The figure moves by about ±100 between runs (the multi-threaded"
  echo "  runtime's scheduling), under 1%, where wall-clock time moves by ±20%."
  echo "- **Write calls per request**: \`strace -c -f\` on the server over $WRITES_N requests of"
  echo "  \`h2load -c4 -m16\` (16 pipelined streams on each of 4 connections; \`--h1\`: HTTP/1.1"
  echo "  pipelining), counting write, writev, sendto and sendmsg."
  echo "- **CPU time**: \`../shared/bench/run.sh\`, servers interleaved over $ROUNDS rounds of ${DUR} s,"
  echo "  server pinned to CPU 0 and load generator to CPU 1; the server's own utime+stime per"
  echo "  request, median over rounds, as a ratio to raw hyper (lower is better)."
  echo "- Peers: \`../shared/bench/peers\` (raw hyper 1 with hyper-util's auto builder, axum 0.8,"
  echo "  actix-web 4), release with fat LTO; Postern: \`examples/bench_peer.rs\` with the default"
  echo "  \`Configuration\` (timeouts and default limits on), profile \`bench-peer\`."
  if [[ -n $instr_table ]]; then
    echo
    echo "## Instructions per request"
    echo
    echo "$instr_table" | awk -v servers="$SERVERS" '
      NR == 1 { next }
      { name[NR] = $1; for (i = 2; i <= NF; i++) v[NR, i] = $i; rows = NR; cols = NF }
      END {
        split("h1 GET /|h1 GET /user/42|h1 POST /echo 4 KiB|h2c GET / (-c4 -m8)", label, "|")
        printf "| instructions per request |"
        for (r = 2; r <= rows; r++) printf " %s |", name[r]
        printf "\n|---|"
        for (r = 2; r <= rows; r++) printf "---|"
        printf "\n"
        for (i = 2; i <= cols; i++) {
          printf "| %s |", label[i - 1]
          for (r = 2; r <= rows; r++) {
            if (r == 2 || v[2, i] + 0 == 0) printf " %s |", v[r, i]
            else printf " %s (%.2f×) |", v[r, i], v[r, i] / v[2, i]
          }
          printf "\n"
        }
      }'
  fi
  if [[ -n $writes_table ]]; then
    echo
    echo "## Write calls per request, pipelined"
    echo
    echo "$writes_table"
  fi
  if [[ -n $cpu_table ]]; then
    echo
    echo "## Server CPU time per request (µs, median), ratio to hyper"
    echo "$cpu_table"
    echo
    echo "† = median over fewer rounds: rounds in which other processes on the machine used much"
    echo "of a core were left out. ⚠ = every round was disturbed that way. These figures move by"
    echo "±20% between runs on a shared 2-core VM; compare servers within one run only."
  fi
  # What the figures leave unexplained: the profile notes kept beside the script.
  if [[ -f $ROOT/bench/speed-notes.md ]]; then
    echo
    cat "$ROOT/bench/speed-notes.md"
  fi
} >"$RESULTS"
log "wrote $RESULTS"
