#!/usr/bin/env bash
# Fuzz every target (or the ones named) for SECONDS each, on stable Rust.
#
#   fuzz/run.sh [SECONDS] [TARGET...]      SECONDS defaults to 30
#
# Installs cargo-fuzz if it is missing, builds all targets once, then runs
# each with no sanitizer (`-s none`, which needs no nightly and no
# RUSTC_BOOTSTRAP) and debug assertions on (`-a`). The seeds and regression
# inputs in fuzz/corpus/TARGET are read, never written: what the fuzzer
# finds goes to fuzz/target/corpus/TARGET (kept between runs, ignored by git).
# Exits non-zero if any target crashed, hung or ran out of memory; the input
# is then in fuzz/artifacts/TARGET/ and the line to replay it is printed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

seconds=${1:-30}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(route_patterns client_ip limits_stack connection proxy_header)
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "== installing cargo-fuzz"
  cargo install --locked cargo-fuzz
fi
echo "== $(cargo fuzz --version), $(rustc --version)"

flags=(-s none -a)
echo "== building the fuzz targets ($(date +%H:%M:%S))"
cargo fuzz build "${flags[@]}"

failed=()
for target in "${targets[@]}"; do
  work="fuzz/target/corpus/$target"
  mkdir -p "$work"
  dict=()
  if [ -f "fuzz/dict/$target.dict" ]; then
    dict=("-dict=fuzz/dict/$target.dict")
  fi
  log="fuzz/target/$target.log"
  echo "== $target for ${seconds}s ($(date +%H:%M:%S))"
  # -timeout: one input may take 10 s at most (the connection target waits
  # up to 5 s for the server itself); -rss_limit_mb: memory per process.
  if cargo fuzz run "${flags[@]}" "$target" "$work" "fuzz/corpus/$target" -- \
      -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
      -print_final_stats=1 "${dict[@]}" >"$log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    corpus=$(find "$work" -type f | wc -l)
    echo "   ok: ${runs:-?} executions, ${corpus} inputs in $work"
  else
    failed+=("$target")
    # The panic message (or libFuzzer's own error: timeout, OOM), not
    # cargo-fuzz's backtrace, which ends the log.
    grep -m1 -A12 -E "panicked at|ERROR: libFuzzer|deadly signal" "$log" || tail -n 40 "$log"
    artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
    echo "   FAILED: $target (full log: $log)"
    if [ -n "$artifact" ]; then
      echo "   replay: cargo fuzz run ${flags[*]} $target $artifact"
      echo "   read:   POSTERN_FUZZ_DEBUG=1 cargo fuzz run ${flags[*]} $target $artifact"
      echo "   shrink: cargo fuzz tmin ${flags[*]} $target $artifact"
    fi
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "== fuzzing found problems in: ${failed[*]}" >&2
  exit 1
fi
echo "== all ${#targets[@]} targets ran ${seconds}s each without a finding"
