/** `npm run test:az`: the Azure CLI suite alone (it needs `az`; `npm test` leaves it out). */
const base = require('./jest.config');

/** @type {import('jest').Config} */
module.exports = { ...base, testMatch: ['**/test/e2e/az-cli.test.ts'], testPathIgnorePatterns: ['/node_modules/'], testTimeout: 300000 };
