/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/packages', '<rootDir>/apps'],
  testMatch: ['**/test/**/*.test.ts'],
  // `npm run build` output; tests run the sources.
  modulePathIgnorePatterns: ['<rootDir>/packages/[^/]+/dist/', '<rootDir>/apps/[^/]+/dist/'],
  transform: {
    // Type checking is done once by `npm run typecheck`; ts-jest only transpiles.
    '^.+\\.ts$': ['ts-jest', { diagnostics: false }],
  },
  // Two test files at a time: most of a suite's wall time is spent in the processes it starts (the
  // gateway, the CLI, simulators, PostgreSQL), so jest's default of one worker on a 2-core machine
  // leaves a core idle. A fixed number, not a share of the cores: each file's servers and database
  // pools count against PostgreSQL's max_connections.
  maxWorkers: 2,
  // A safety net for a hung test, not a measure: the suite must pass with every core busy.
  testTimeout: 120000,
};
