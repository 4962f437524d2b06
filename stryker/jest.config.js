// Jest config of the mutation runs: the unit suites of the pure modules need no Consul agent, so
// none of the project config's globalSetup, reporters or ignore lists. Each group sets testMatch.
module.exports = {
  rootDir: '..',
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: false }] },
};
