import type { Config } from 'jest';

const config: Config = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // Docker suites run from scripts/ci-docker.sh, after it has made sure an engine and the images exist;
  // chaos suites (Toxiproxy, minutes of load) from `npm run test:chaos` (scripts/ci-chaos.sh);
  // scale suites (their own agents with connection limits, thousands of watches) from scripts/ci-scale.sh;
  // multi-host suites (network namespaces, root) from scripts/ci-hosts.sh.
  testPathIgnorePatterns: [
    '/node_modules/',
    '\\.docker\\.test\\.ts$',
    '\\.chaos\\.test\\.ts$',
    '\\.scale\\.test\\.ts$',
    '\\.hosts\\.test\\.ts$',
  ],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: false }] },
  // One dev agent serves the whole run; suites that need their own agent (ACL, restart) start it.
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  testTimeout: 30_000,
  // Integration suites share one Consul agent and two cores; one worker keeps timings honest.
  maxWorkers: 1,
  reporters: ['default', '<rootDir>/test/support/summary-reporter.js'],
};

export default config;
