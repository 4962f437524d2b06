#!/usr/bin/env bash
# CI part for the chaos suite (called from .ci/run after `npm ci`): obtains Toxiproxy (built from
# its Go module and cached outside the clone, like Consul), then runs every test/chaos/*.chaos.test.ts
# scenario against a real Consul agent. Each scenario prints its counts and records them in
# bench/chaos-results.json; `npm run chaos:readme` renders them into docs/reliability.md.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== Toxiproxy (scripts/toxiproxy.sh)"
started=$(date +%s)
TOXIPROXY_BIN=$(bash scripts/toxiproxy.sh)
export TOXIPROXY_BIN
echo "toxiproxy: $("$TOXIPROXY_BIN" -version 2>&1 | head -n 1) at $TOXIPROXY_BIN ($(($(date +%s) - started))s)"

echo "== Consul (scripts/consul.sh)"
bash scripts/consul.sh >/dev/null

echo "== chaos scenarios and property tests (npm run test:chaos)"
started=$(date +%s)
npm run test:chaos
echo "chaos suite: $(($(date +%s) - started))s"
