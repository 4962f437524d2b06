#!/usr/bin/env bash
# CI part for several hosts on one machine (called from .ci/run after `npm ci`): test/hosts, whose
# hosts are Linux network namespaces on a bridge, each with its own Consul agent on the standard
# ports. Creating namespaces needs root and Linux: elsewhere this prints why and skips, except in
# CI (CI set), where that is a failure. Each suite prints what it measured.
set -euo pipefail
cd "$(dirname "$0")/.."

reason=""
if [ "$(uname -s)" != Linux ]; then
  reason="network namespaces need Linux (this is $(uname -s))"
elif [ "$(id -u)" != 0 ]; then
  reason="creating network namespaces needs root (running as uid $(id -u))"
elif ! ip netns list >/dev/null 2>&1; then
  reason="\`ip netns\` (iproute2) does not work here"
fi
if [ -n "$reason" ]; then
  if [ -n "${CI:-}" ]; then
    echo "ci-hosts.sh: cannot run test/hosts in CI: $reason" >&2
    exit 1
  fi
  echo "ci-hosts.sh: SKIPPED test/hosts: $reason"
  exit 0
fi

echo "== Consul binary (scripts/consul.sh)"
CONSUL_BIN="$(bash scripts/consul.sh)"
export CONSUL_BIN
echo "$CONSUL_BIN"

echo "== several hosts, an agent on each (test/hosts)"
# The *.hosts.test.ts files are excluded from the default jest run: this override brings them
# back. It goes last: jest's array options would swallow the path patterns that follow them.
npx jest test/hosts --testPathIgnorePatterns '/node_modules/'
