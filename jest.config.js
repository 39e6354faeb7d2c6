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
  // A safety net for a hung test, not a measure: the suite must pass with every core busy.
  testTimeout: 120000,
};
