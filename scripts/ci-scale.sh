#!/usr/bin/env bash
# CI part for the scale suites (called from .ci/run after `npm ci`): test/scale/*.scale.test.ts start
# their own Consul agents with `limits { http_max_conns_per_client }` set and follow hundreds to
# thousands of services from several processes. Kept out of the default jest run; about 3 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== Consul (scripts/consul.sh)"
bash scripts/consul.sh >/dev/null

echo "== scale suites"
started=$(date +%s)
# many-workers-tls.scale.test.ts (h2): 1,000 services x 4 processes, every service under a blocking
# query over at most 4 connections per process, ready <= 10 s, change p99 <= 100 ms, 0 x 429.
# many-workers.scale.test.ts (HTTP/1.1): the same over plain HTTP, 21 blocking slots per process and
# the other 979 services behind one check watch: ready <= 10 s, slotted change p99 <= 100 ms, polled
# p99 <= 2 s, sockets <= the budget of 32, 0 x 429 to another client on the agent's address.
# large-answer.scale.test.ts: a 10,000-instance answer applied without holding the event loop.
npx jest test/scale/many-upstreams.scale.test.ts test/scale/large-answer.scale.test.ts \
  test/scale/many-workers-tls.scale.test.ts test/scale/many-workers.scale.test.ts \
  --testPathIgnorePatterns /node_modules/
echo "scale suites: $(($(date +%s) - started))s"
