#!/usr/bin/env bash
# tools/autobahn.sh: WebSocket conformance of Postern, measured with the
# Autobahn fuzzing-client cases as kosoku (a Python package) runs them.
#
#   tools/autobahn.sh [OUT_DIR]                     (OUT_DIR: <target dir>/autobahn)
#   AUTOBAHN_PROFILE=debug tools/autobahn.sh        (reuse a debug build, as CI does)
#
# What it does:
#  1. Makes a Python venv with kosoku under AUTOBAHN_VENV when it has none
#     (kept between runs; a fresh one takes a few seconds).
#  2. Builds `examples/websocket_echo.rs` and starts it with `--port 0`, or
#     starts AUTOBAHN_SERVER_CMD instead; the server's http URL is read from
#     its `listening on http://HOST:PORT` line.
#  3. Runs the fuzzing-client cases against it, all but 12.* and 13.*
#     (permessage-deflate, which Postern does not offer), one at a time.
#  4. Reads the report (OUT_DIR/report/index.json), prints a table of how
#     many cases ended in each behaviour and each close behaviour, and names
#     every case that did not end OK or INFORMATIONAL.
#  5. Stops the server (SIGINT, the graceful stop; TERM if it lingers).
# Exit status: 0 when every case ran and each one's behaviour and close
# behaviour is OK or INFORMATIONAL; 1 when a case is NON-STRICT, FAILED or
# UNIMPLEMENTED, a case is missing from the report, or the server died
# during the run; 2 when kosoku or the server could not be set up.
# The run itself takes about 25 s; the cases with 16 MiB messages (9.*)
# take most of it.
#
# Environment (defaults in brackets):
#   AUTOBAHN_SERVER_CMD  a command (word-split) that starts a server on a free
#                        port and prints `listening on http://HOST:PORT`
#                        [the websocket_echo example with --port 0]
#   AUTOBAHN_PROFILE     cargo profile the example is built with [release]
#   AUTOBAHN_EXCLUDE     case globs left out, word-split ["12.* 13.*"]
#   AUTOBAHN_INCLUDE     case globs to run, word-split ["": all]
#   AUTOBAHN_TIMEOUT     seconds the whole kosoku run may take [300]
#   AUTOBAHN_VENV        the venv [<target dir>/autobahn-venv]
#   KOSOKU_VERSION       the kosoku release installed [0.1.0]
#   PYTHON               the Python that makes the venv [python3]
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
target_dir=${CARGO_TARGET_DIR:-$(cargo metadata --manifest-path "$root/Cargo.toml" \
    --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')}
out=${1:-$target_dir/autobahn}
profile=${AUTOBAHN_PROFILE:-release}
timeout_s=${AUTOBAHN_TIMEOUT:-300}
venv=${AUTOBAHN_VENV:-$target_dir/autobahn-venv}
kosoku_version=${KOSOKU_VERSION:-0.1.0}
read -r -a exclude <<<"${AUTOBAHN_EXCLUDE-12.* 13.*}"
read -r -a include <<<"${AUTOBAHN_INCLUDE:-}"

say() { printf 'autobahn.sh: %s\n' "$*" >&2; }

# 1. kosoku in its own venv: the system Python stays untouched.
if [[ ! -x $venv/bin/kosoku ]] ||
    [[ $("$venv/bin/python" -m pip show kosoku 2>/dev/null | sed -n 's/^Version: //p') != "$kosoku_version" ]]; then
    say "installing kosoku $kosoku_version into $venv"
    if ! "${PYTHON:-python3}" -m venv "$venv" ||
        ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
            "kosoku==$kosoku_version"; then
        say "could not make a venv with kosoku (needs python3 with venv and pip)"
        exit 2
    fi
fi

# 2. The server.
if [[ -n ${AUTOBAHN_SERVER_CMD:-} ]]; then
    read -r -a server_cmd <<<"$AUTOBAHN_SERVER_CMD"
else
    profile_args=(--profile "$profile")
    profile_dir=$profile
    [[ $profile == dev || $profile == debug ]] && profile_args=() && profile_dir=debug
    cargo build --quiet --manifest-path "$root/Cargo.toml" ${profile_args[@]+"${profile_args[@]}"} \
        --example websocket_echo
    server_cmd=("$target_dir/$profile_dir/examples/websocket_echo" --port 0)
fi

rm -rf "$out/report"
mkdir -p "$out"
log=$out/server.log
"${server_cmd[@]}" >"$log" 2>&1 &
server=$!
stop_server() {
    kill -0 "$server" 2>/dev/null || return 0
    kill -INT "$server" 2>/dev/null || true
    for _ in $(seq 50); do
        kill -0 "$server" 2>/dev/null || break
        sleep 0.1
    done
    kill -TERM "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
}
trap stop_server EXIT

address=
for _ in $(seq 300); do
    address=$(sed -n 's|^listening on http://\([^/]*\)/\{0,1\}$|\1|p' "$log" | head -n 1)
    [[ -n $address ]] && break
    if ! kill -0 "$server" 2>/dev/null; then
        say "the server exited; its log:"
        cat "$log" >&2
        exit 2
    fi
    sleep 0.1
done
if [[ -z $address ]]; then
    say "no 'listening on http://' line from ${server_cmd[*]} within 30 s; see $log"
    exit 2
fi
echo "server: ${server_cmd[*]} on $address (log: $log)"

# 3. The cases.
args=(-m fuzzingclient -o "$out/report")
for glob in ${include[@]+"${include[@]}"}; do args+=(-i "$glob"); done
for glob in ${exclude[@]+"${exclude[@]}"}; do args+=(-x "$glob"); done
started=$SECONDS
rc=0
timeout "$timeout_s" "$venv/bin/kosoku" "${args[@]}" "$address" >"$out/kosoku.log" 2>&1 || rc=$?
elapsed=$((SECONDS - started))
server_alive=1
kill -0 "$server" 2>/dev/null || server_alive=0
if [[ ! -f $out/report/index.json ]]; then
    say "kosoku wrote no report (exit $rc after ${elapsed}s); the end of its log:"
    tail -n 20 "$out/kosoku.log" >&2
    exit 1
fi

# 4. The table. kosoku's own exit status is 0 with NON-STRICT cases, so the
# verdict comes from the report. The expected case count is what kosoku
# says it selected, so a case missing from the report fails too.
status=0
"$venv/bin/python" - "$out/report/index.json" "$out/kosoku.log" <<'PY' || status=1
import collections, json, re, sys

with open(sys.argv[1]) as f:
    index = json.load(f)
cases = {}
for agent in index.values():
    cases.update(agent)
with open(sys.argv[2]) as f:
    log = f.read()
said = re.search(r"wrote reports for (\d+) cases", log)

def key(case_id):
    return [int(part) for part in case_id.split(".")]

good = {"OK", "INFORMATIONAL"}
order = ["OK", "INFORMATIONAL", "NON-STRICT", "FAILED", "UNIMPLEMENTED"]
behaviour = collections.Counter(c.get("behavior", "?") for c in cases.values())
close = collections.Counter(c.get("behaviorClose", "?") for c in cases.values())
names = order + sorted((set(behaviour) | set(close)) - set(order))
print(f"{'result':<15}{'behaviour':>10}{'close':>8}")
for name in names:
    print(f"{name:<15}{behaviour[name]:>10}{close[name]:>8}")
print(f"{'cases':<15}{len(cases):>10}{len(cases):>8}")
bad = sorted(
    (k for k, c in cases.items()
     if c.get("behavior") not in good or c.get("behaviorClose") not in good),
    key=key,
)
for k in bad:
    c = cases[k]
    print(f"  {k}: behaviour {c.get('behavior')}, close {c.get('behaviorClose')}")
ok = not bad
if said is None:
    print("kosoku did not say how many cases it ran")
    ok = False
elif int(said.group(1)) != len(cases) or not cases:
    print(f"kosoku ran {said.group(1)} cases, the report holds {len(cases)}")
    ok = False
sys.exit(0 if ok else 1)
PY
echo "kosoku: ${elapsed}s, exit $rc; report: $out/report/index.html"
if [[ $rc -ne 0 ]]; then
    say "kosoku exited with status $rc (124: over AUTOBAHN_TIMEOUT=${timeout_s}s); see $out/kosoku.log"
    status=1
fi
if [[ $server_alive -eq 0 ]]; then
    say "the server died during the run; see $log"
    status=1
fi
exit "$status"
