// Jest runs the tsc output (packages/*/dist-test) as native ESM: tsc -b type-checks the
// tests, and the tests exercise the real `exports` → dist resolution that users get.
export default {
  testEnvironment: 'node',
  transform: {},
  testMatch: ['<rootDir>/packages/*/dist-test/**/*.test.js'],
  reporters: ['default', '<rootDir>/scripts/jest-plain-summary.js'],
  testTimeout: 60000,
};
