/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // The Azure CLI suite needs `az` installed: `npm run test:az` (jest.az.config.js) runs it, CI runs both.
  // The dashboard's browser suite (test/browser) is part of this run: it needs Debian's chromium (.ci/run installs it).
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/e2e/az-cli.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { isolatedModules: true, diagnostics: false }] },
  testTimeout: 60000,
  maxWorkers: 2,
};
