#!/usr/bin/env bash
# bench/footprint.sh: what a device build of Postern weighs next to raw hyper.
#
#   bench/footprint.sh                 (1,000 connections, 3 rounds)
#   CONNS=500 ROUNDS=5 bench/footprint.sh
#   FEATURE_COSTS=1 bench/footprint.sh (also: what rate, ip-filter and json
#                                       add to the device binary, one by one)
#
# 1. Builds bench/footprint/ (a workspace of its own, so the device gets
#    exactly `postern = { default-features = false, features = ["http1"] }`)
#    with the size profile (opt-level z, fat LTO, one codegen unit, panic
#    abort, strip): `device` (examples/device.rs) and `hyper_hello` (raw
#    hyper's hello world: http1::Builder, no timers, current-thread runtime).
# 2. Prints both binary sizes.
# 3. Idle connections (bench/footprint/idle.py): start the server, one
#    warm-up request, read VmRSS; open CONNS connections to 127.0.0.1 that
#    each make one keep-alive GET / and read the whole answer; read VmRSS
#    again while they sit idle (well inside Postern's 15 s keep-alive). The
#    RSS delta over CONNS is the cost of one idle connection. ROUNDS rounds,
#    the servers interleaved; the median round counts.
# 4. Writes the table, the method, the machine line and the date to
#    bench/RESULTS-footprint.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
CONNS=${CONNS:-1000}
ROUNDS=${ROUNDS:-3}
OUT=bench/RESULTS-footprint.md
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}/footprint

# The client and the server each hold CONNS sockets.
ulimit -n "$(( CONNS * 2 + 256 ))" 2>/dev/null || ulimit -n "$(ulimit -Hn)"

echo "== building (size profile)"
cargo build --manifest-path bench/footprint/Cargo.toml --profile size --bins
bin=$CARGO_TARGET_DIR/size
device_size=$(stat -c %s "$bin/device")
hyper_size=$(stat -c %s "$bin/hyper_hello")
printf 'binary: device %d B, hyper_hello %d B\n' "$device_size" "$hyper_size"

costs=()
if [[ ${FEATURE_COSTS:-0} == 1 ]]; then
  echo "== the device with each optional part on (size profile)"
  cp "$bin/device" "$bin/device.base"
  for feature in rate ip-filter json; do
    cargo build --manifest-path bench/footprint/Cargo.toml --profile size --bin device --features "$feature"
    size=$(stat -c %s "$bin/device")
    printf '+%s: %d B (%+d B)\n' "$feature" "$size" "$(( size - device_size ))"
    costs+=("| \`$feature\` | $size B | $(( size - device_size )) B |")
  done
  # Put the measured binary back.
  cp "$bin/device.base" "$bin/device"
fi

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

echo "== idle connections: $CONNS per round, $ROUNDS rounds"
device_runs=() hyper_runs=()
for round in $(seq "$ROUNDS"); do
  read -r _ _ h < <(timeout 120 python3 bench/footprint/idle.py "$CONNS" "$bin/hyper_hello")
  read -r _ _ d < <(timeout 120 python3 bench/footprint/idle.py "$CONNS" "$bin/device")
  printf 'round %d: hyper_hello %d B, device %d B per idle connection\n' "$round" "$h" "$d"
  hyper_runs+=("$h") device_runs+=("$d")
done
hyper_conn=$(printf '%s\n' "${hyper_runs[@]}" | median)
device_conn=$(printf '%s\n' "${device_runs[@]}" | median)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
kb() { awk -v a="$1" 'BEGIN { printf "%.1f", a / 1000 }'; }

cpu=$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)
machine="$(uname -sm), kernel $(uname -r), $(nproc) CPUs ($cpu), $(rustc --version)"
{
  echo "# Footprint: the device example beside raw hyper"
  echo
  echo "Written by \`bench/footprint.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC')."
  echo "Machine: $machine."
  echo
  echo "| server | binary | per idle connection |"
  echo "|---|---|---|"
  echo "| raw hyper (\`http1::Builder\`, no timers) | $(kb "$hyper_size") KB | $(kb "$hyper_conn") KB |"
  echo "| Postern \`examples/device.rs\` (\`default-features = false, features = [\"http1\"]\`) | $(kb "$device_size") KB ($(ratio "$device_size" "$hyper_size")×) | $(kb "$device_conn") KB ($(ratio "$device_conn" "$hyper_conn")×) |"
  echo
  echo "Per idle connection, each round (hyper_hello / device, bytes): $(paste -d/ <(printf '%s\n' "${hyper_runs[@]}") <(printf '%s\n' "${device_runs[@]}") | paste -sd' ')."
  echo
  if (( ${#costs[@]} )); then
    echo "What each optional part adds to the device binary (the device with that feature on):"
    echo
    echo "| feature | binary | added |"
    echo "|---|---|---|"
    printf '%s\n' "${costs[@]}"
    echo
  fi
  echo "Where an idle connection's memory goes, and the figures before issue 14's work:"
  echo "[bench/footprint/README.md](footprint/README.md)."
  echo
  echo "## Method"
  echo
  echo "- Both servers are built by \`bench/footprint/\` (its own workspace) with the size profile:"
  echo "  opt-level \"z\", fat LTO, one codegen unit, panic = abort, strip. Sizes are the files' bytes."
  echo "- Both run a current-thread tokio runtime. The device keeps Postern's default timeouts"
  echo "  (15 s keep-alive, 10 s first byte and request head, body and write stalls) and default"
  echo "  limits (Qt's sizes; connection caps and rate off by default)."
  echo "- Idle connection: \`bench/footprint/idle.py\` starts the server, makes one warm-up request,"
  echo "  reads \`VmRSS\`, opens $CONNS connections to 127.0.0.1 that each send one keep-alive"
  echo "  \`GET /\` and read the whole answer, waits 1 s and reads \`VmRSS\` again. The delta"
  echo "  divided by $CONNS is the figure; the median of $ROUNDS interleaved rounds is shown."
} > "$OUT"
cat "$OUT"
