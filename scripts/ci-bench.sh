#!/usr/bin/env bash
# CI: the quick version of `npm run bench` (every benchmark, small). It checks that each benchmark
# produced its figures, never how fast they are: CI machines are shared and noisy.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v haproxy >/dev/null 2>&1; then
  # Debian's HAProxy is the sidecar the throughput and propagation benchmarks compare with.
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends haproxy >/dev/null
fi

npm run bench -- --quick

node -e '
const results = require("./bench/results.json");
const expected = ["throughput", "propagation", "tail-latency", "consul-load", "memory", "express-adapter", "pick", "scale", "large-answers"];
const missing = expected.filter((id) => {
  const suite = results.suites[id];
  return !suite || !suite.quick || suite.tables.length === 0 || suite.tables.some((t) => t.rows.length === 0);
});
if (!results.suites.throughput.figures.clients.some((c) => c.id === "haproxy")) missing.push("throughput: haproxy row");
if (!results.suites.throughput.figures.clients.some((c) => c.id === "express-consul-tm")) missing.push("throughput: traffic-management row");
if (missing.length > 0) {
  console.error(`bench --quick produced no figures for: ${missing.join(", ")}`);
  process.exit(1);
}
console.log(`bench --quick: figures from ${expected.length} benchmarks`);
'
