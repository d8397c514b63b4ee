#!/usr/bin/env bash
# tools/h2spec.sh: HTTP/2 conformance of Postern, measured with h2spec
# (https://github.com/summerwind/h2spec), over TLS (ALPN h2) and over h2c
# (prior knowledge on the plain-TCP port).
#
#   H2SPEC=/path/to/h2spec tools/h2spec.sh [OUT_DIR]       (OUT_DIR: target/h2spec)
#
# It starts `examples/simple.rs` on free ports (`--port 0 --tls-port 0`, the
# URLs read from its `listening on` lines), runs `h2spec -t -k` against the
# HTTPS port and plain `h2spec` against the HTTP port, keeps each run's text
# report (<transport>.txt), JUnit report (<transport>.xml) and the server's
# log in OUT_DIR, prints one summary line per run, and stops the server.
# Exit status: 0 when TLS has no failure and h2c none but http2/3.5/2 (an
# invalid preface on a port that also serves HTTP/1 is HTTP/1, answered 400);
# 1 on any other failure or an h2spec run that did not finish; 2 when
# h2spec or the server could not be started.
#
# Environment:
#   H2SPEC          the h2spec binary (default: `h2spec` on PATH). This
#                   repository neither holds nor builds h2spec: take a release
#                   binary from https://github.com/summerwind/h2spec/releases
#                   or build it from its source as its README says.
#   SIMPLE          a built `simple` example (default: `cargo build --example simple`)
#   H2SPEC_TIMEOUT  seconds h2spec waits for an expected frame or close (its
#                   -o; default 5, above h2spec's 2, as margin on a loaded
#                   machine: a passing run takes well under a second)
#   H2SPEC_ARGS     more h2spec arguments, e.g. `-S` (strict cases too) or
#                   `http2/6.5` (one section); word-split
#   TRANSPORTS      the runs to make (default: "tls h2c")
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
target_dir=${CARGO_TARGET_DIR:-$(cargo metadata --manifest-path "$root/Cargo.toml" \
    --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')}
out=${1:-$target_dir/h2spec}
timeout=${H2SPEC_TIMEOUT:-5}
transports=${TRANSPORTS:-tls h2c}
read -r -a extra <<<"${H2SPEC_ARGS:-}"

h2spec=${H2SPEC:-$(command -v h2spec || true)}
if [[ -z $h2spec || ! -x $h2spec ]]; then
    echo "h2spec.sh: no h2spec binary: set H2SPEC=/path/to/h2spec or put h2spec on PATH" >&2
    echo "  (a release binary: https://github.com/summerwind/h2spec/releases;" >&2
    echo "   or build it from its source as its README describes)" >&2
    exit 2
fi

if [[ -n ${SIMPLE:-} ]]; then
    simple=$SIMPLE
else
    cargo build --quiet --manifest-path "$root/Cargo.toml" --example simple
    simple=$target_dir/debug/examples/simple
fi

mkdir -p "$out"
log=$out/server.log
"$simple" --port 0 --tls-port 0 >"$log" 2>&1 &
server=$!
stop_server() {
    kill -0 "$server" 2>/dev/null || return 0
    # The example stops gracefully on SIGINT; TERM if it lingers.
    kill -INT "$server" 2>/dev/null || true
    for _ in $(seq 50); do
        kill -0 "$server" 2>/dev/null || break
        sleep 0.1
    done
    kill -TERM "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
}
trap stop_server EXIT

http_port= tls_port=
for _ in $(seq 300); do
    http_port=$(sed -n 's|^listening on http://127\.0\.0\.1:\([0-9]*\)$|\1|p' "$log")
    tls_port=$(sed -n 's|^listening on https://127\.0\.0\.1:\([0-9]*\)$|\1|p' "$log")
    [[ -n $http_port && -n $tls_port ]] && break
    if ! kill -0 "$server" 2>/dev/null; then
        echo "h2spec.sh: the server exited; its log:" >&2
        cat "$log" >&2
        exit 2
    fi
    sleep 0.1
done
if [[ -z $http_port || -z $tls_port ]]; then
    echo "h2spec.sh: no 'listening on' lines from $simple within 30 s; see $log" >&2
    exit 2
fi
echo "server: http://127.0.0.1:$http_port https://127.0.0.1:$tls_port (log: $log)"

# The ids (generic/1/2, http2/3.5/2, hpack/4.2/1) of the failed cases in an
# h2spec text report: its "Failures:" section lists each failed case under
# its spec's title and its section's title.
failed_ids() {
    sed 's/\x1b\[[0-9;]*m//g' "$1" | awk '
        /^Failures:/ { on = 1; next }
        /^Finished in/ { on = 0 }
        !on { next }
        /^Generic tests/ { key = "generic"; next }
        /^Hypertext Transfer Protocol/ { key = "http2"; next }
        /^HPACK/ { key = "hpack"; next }
        /^ +[0-9][0-9.]*\. / { sub(/^ +/, ""); section = $1; sub(/\.$/, "", section); next }
        /^ +× [0-9]+:/ { sub(/^ +× /, ""); n = $1; sub(/:$/, "", n); print key "/" section "/" n }
    '
}

status=0
for transport in $transports; do
    case $transport in
    tls) args=(-t -k -p "$tls_port") ;;
    h2c) args=(-p "$http_port") ;;
    *)
        echo "h2spec.sh: unknown transport $transport (tls or h2c)" >&2
        exit 2
        ;;
    esac
    report=$out/$transport.txt
    rc=0
    "$h2spec" -h 127.0.0.1 "${args[@]}" -o "$timeout" -j "$out/$transport.xml" \
        ${extra[@]+"${extra[@]}"} >"$report" 2>&1 || rc=$?
    summary=$(sed -n 's/^\([0-9]* tests, [0-9]* passed, [0-9]* skipped, [0-9]* failed\)$/\1/p' "$report")
    if [[ -z $summary ]]; then
        echo "$transport: h2spec did not finish (exit $rc); see $report" >&2
        tail -n 5 "$report" >&2
        status=1
        continue
    fi
    failed=$(failed_ids "$report" | tr '\n' ' ')
    echo "$transport: $summary${failed:+; failed: ${failed% }}"
    allowed=
    [[ $transport == h2c ]] && allowed=http2/3.5/2
    for id in $failed; do
        [[ $id == "$allowed" ]] || status=1
    done
    # A failure the Failures section did not name still counts.
    if [[ $rc -ne 0 && -z $failed ]]; then
        status=1
    fi
done
echo "reports: $out (<transport>.txt, <transport>.xml, server.log)"
exit "$status"
