// Mutation testing of the pure modules (issue #14), one Stryker run per group so each mutant, and
// above all each static mutant (module-level constants, which every test reaches), runs only its
// group's unit suites. The suites run under a Jest config of their own: the project's config
// starts a Consul agent in globalSetup, which these modules never need (stryker/jest.config.js).

/**
 * The Stryker options of one group: its source files, its unit test files (Jest testMatch globs)
 * and the folder its reports go to (git-ignored).
 * @param {{ name: string, mutate: string[], tests: string[] }} group
 * @returns {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
export function mutationConfig(group) {
  const reports = `reports/mutation/${group.name}`;
  return {
    packageManager: 'npm',
    testRunner: 'jest',
    plugins: ['@stryker-mutator/jest-runner'],
    mutate: group.mutate,
    jest: {
      projectType: 'custom',
      enableFindRelatedTests: false,
      configFile: 'stryker/jest.config.js',
      config: { testMatch: group.tests.map((glob) => `<rootDir>/${glob}`) },
    },
    // perTest runs, for each mutant, only the tests that reach it.
    coverageAnalysis: 'perTest',
    // The machine is shared: one worker unless the caller asks for more (--concurrency N).
    concurrency: 1,
    // Added to the expected test time: a mutant that loops forever costs this much.
    timeoutMS: 5_000,
    reporters: ['clear-text', 'progress', 'html', 'json'],
    htmlReporter: { fileName: `${reports}/mutation.html` },
    jsonReporter: { fileName: `${reports}/mutation.json` },
    // A rerun tests again only the mutants whose code or covering tests changed since the last.
    incremental: true,
    incrementalFile: `${reports}/stryker-incremental.json`,
    tempDirName: '.stryker-tmp',
    cleanTempDir: true,
    // Issue #14's goal is 85 % per group; below it the score shows red.
    thresholds: { high: 90, low: 85, break: null },
  };
}
