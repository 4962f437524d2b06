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
# The 1,000 services x 4 processes suites do not meet all their targets yet on this 2-core machine
# (issue #12 stays open for them) and run with `npm run test:scale:workers`, not in CI:
# - many-workers.scale.test.ts (HTTP/1.1): ready in 6.4-8.7 s and 0 x 429 met; a change to a
#   slotted service seen p99 178-245 ms, above 100 ms, while Consul's own blocking answer to a
#   control query of the same change took p99 276-347 ms (the agent is the slow part: each change
#   wakes every worker's check watch, a list of every check of the datacenter).
# - many-workers-tls.scale.test.ts (h2): change p99 42-66 ms and 0 x 429 met; ready in 10.0-11.0 s,
#   just above 10 s (3.4-3.8 s of CPU per process).
# large-answer.scale.test.ts: a 10,000-instance answer applied without holding the event loop.
npx jest test/scale/many-upstreams.scale.test.ts test/scale/large-answer.scale.test.ts \
  --testPathIgnorePatterns /node_modules/
echo "scale suites: $(($(date +%s) - started))s"
