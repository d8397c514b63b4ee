#!/usr/bin/env bash
# The project's test command: installs redis-server when missing (the shared
# rate limit's tests start one as a child process), then builds the examples
# (tests/examples/cli.rs runs them as a user would) and runs every test.
# The root package's dev build turns on postern-limits' `redis` feature, so
# `cargo test --workspace` covers the Redis store with no extra flag.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! command -v redis-server >/dev/null 2>&1; then
  echo "tools/test.sh: redis-server is missing; installing the redis-server package" >&2
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server
  elif command -v sudo >/dev/null 2>&1; then
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server
  else
    echo "tools/test.sh: cannot install redis-server (not root, no sudo): install it" \
      "(Debian/Ubuntu: apt-get install redis-server) and run again" >&2
    exit 1
  fi
  if ! command -v redis-server >/dev/null 2>&1; then
    echo "tools/test.sh: redis-server is still missing after the install; install it by hand" >&2
    exit 1
  fi
fi

cargo build --examples && cargo test --workspace --all-targets && cargo test --workspace --doc
