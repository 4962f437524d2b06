// Jest config of the mutation runs: the unit suites of the pure modules need no Consul agent, so
// none of the project config's globalSetup, reporters or ignore lists. Each group sets testMatch.
// ts-jest transpiles each file on its own (isolatedModules, no type check: `npm run typecheck`
// does that): Stryker starts Jest once per mutant, and building a TypeScript program for every
// start would cost more than the tests.
module.exports = {
  rootDir: '..',
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  transform: {
    '^.+\\.ts$': [
      'ts-jest',
      {
        diagnostics: false,
        tsconfig: {
          target: 'ES2022',
          module: 'commonjs',
          esModuleInterop: true,
          resolveJsonModule: true,
          isolatedModules: true,
        },
      },
    ],
  },
};
