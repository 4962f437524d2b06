#!/usr/bin/env bash
# CI part for the scale suites (called from .ci/run after `npm ci`): test/scale/*.scale.test.ts start
# their own Consul agents with `limits { http_max_conns_per_client }` set and follow hundreds to
# thousands of services from several processes. Kept out of the default jest run; about 2 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== Consul (scripts/consul.sh)"
bash scripts/consul.sh >/dev/null

echo "== scale suites"
started=$(date +%s)
npx jest test/scale --testPathIgnorePatterns /node_modules/
echo "scale suites: $(($(date +%s) - started))s"
