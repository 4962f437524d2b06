#!/usr/bin/env bash
# CI part for Docker (called from .ci/run after `npm ci`): an engine and the images, the compose
# test, container mode of express-consul/testing, and the core integration tests against Consul in a
# container. Each step prints what it measured.
set -euo pipefail
cd "$(dirname "$0")/.."

# The *.docker.test.ts files may be excluded from the default jest run: this override brings them
# back. It goes last: jest's array options would swallow the path patterns that follow them.
jest_all() { npx jest "$@" --testPathIgnorePatterns '/node_modules/'; }

echo "== Docker engine and images (scripts/docker.sh)"
started=$(date +%s)
bash scripts/docker.sh
echo "docker.sh: $(($(date +%s) - started))s"

echo "== docker-compose.yml, end to end (test/docker)"
jest_all test/docker

echo "== express-consul/testing in container mode (test/testing)"
jest_all test/testing

echo "== core integration tests against Consul in a container (EXPRESS_CONSUL_TEST_CONSUL=container)"
EXPRESS_CONSUL_TEST_CONSUL=container jest_all test/registration test/watch/service-watcher.integration.test.ts
