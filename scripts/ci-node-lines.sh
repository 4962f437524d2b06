#!/usr/bin/env bash
# CI part for the other Node.js lines (called from .ci/run after `npm test` on the machine's Node
# 20): the whole default jest suite on Node 24 (what `npm test` runs after its type, lint and format
# checks, which do not depend on the runtime and ran once already), and the unit suites of the pure
# modules (balancers, options, retry and outlier rules, discovery's parsing and scheduling, traffic
# rules, events) on Node 22. The whole suite takes about 12 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."

bin=$(bash scripts/node-line.sh 24)
started=$(date +%s)
echo "== jest on Node $("$bin/node" --version): the whole default suite"
PATH="$bin:$PATH" node node_modules/.bin/jest
echo "Node 24: $(($(date +%s) - started))s"

bin=$(bash scripts/node-line.sh 22)
started=$(date +%s)
echo "== jest on Node $("$bin/node" --version): unit suites of the pure modules"
PATH="$bin:$PATH" node node_modules/.bin/jest test/balancer test/config test/events test/traffic \
  test/resilience test/errors.test.ts test/watch test/client/retry test/client/outlier \
  test/client/request-input test/client/service-client-options test/client/watch-set.test \
  --testPathIgnorePatterns '/node_modules/' '\.integration\.test\.ts$' '\.cluster\.test\.ts$' \
  '\.docker\.test\.ts$' '\.chaos\.test\.ts$' '\.scale\.test\.ts$' '\.hosts\.test\.ts$'
echo "Node 22: $(($(date +%s) - started))s"
