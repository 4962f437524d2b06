#!/usr/bin/env bash
# CI part for the other Node.js lines (called from .ci/run after `npm test` on the machine's Node
# 20): the unit suites of the pure modules (balancers, options, retry and outlier rules, discovery's
# parsing and scheduling, traffic rules, events) on Node 24 and Node 22. The whole suite on Node 24
# takes as long as `npm test` (about 12 minutes on 2 cores) and would take CI past its time target;
# run it by hand with `PATH="$(bash scripts/node-line.sh 24):$PATH" npx jest`. Types, lint and
# format do not depend on the runtime and ran once already.
set -euo pipefail
cd "$(dirname "$0")/.."

for line in 24 22; do
  bin=$(bash scripts/node-line.sh "$line")
  started=$(date +%s)
  echo "== jest on Node $("$bin/node" --version): unit suites of the pure modules"
  PATH="$bin:$PATH" node node_modules/.bin/jest test/balancer test/config test/events test/traffic \
    test/resilience test/errors.test.ts test/discovery test/client/retry test/client/outlier \
    test/client/request-input test/client/service-client-options test/client/watch-set.test \
    --testPathIgnorePatterns '/node_modules/' '\.integration\.test\.ts$' '\.cluster\.test\.ts$' \
    '\.docker\.test\.ts$' '\.chaos\.test\.ts$' '\.scale\.test\.ts$' '\.hosts\.test\.ts$'
  echo "Node $line: $(($(date +%s) - started))s"
done
