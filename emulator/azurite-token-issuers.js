'use strict';
/**
 * Azurite extension: `--oauth basic` accepts bearer tokens of the local identity endpoint too.
 *
 * Preload it into the Azurite process like `azurite-page-diff.js` (`startAzurite({ extensions: [...] })`)
 * with KLUIS_AZURITE_TOKEN_ISSUERS set to the accepted issuers (comma-separated, e.g. the identity
 * endpoint's `https://127.0.0.1:<port>/<tenant>/`).
 *
 * Why: Azurite 3.35.0's basic OAuth check accepts a token only when its `iss` starts with one of Entra ID's
 * issuers (VALID_ISSUE_PREFIXES in common/utils/constants.js: sts.windows.net and the sovereign clouds), so
 * the app's managed identity tokens from the local identity endpoint would be refused. The Blob, Queue and
 * Table token authenticators read that array on every request; this adds the configured issuers to it.
 * Everything else of the check stays Azurite's (lifetime, audience https://storage.azure.com or the
 * account's endpoint; no signature check in basic mode). Another Azurite version: nothing is patched.
 */
const { whenAzuriteLoads, warn } = require('./azurite-module-hook');

function configuredIssuers(env = process.env) {
  return (env.KLUIS_AZURITE_TOKEN_ISSUERS ?? '')
    .split(',')
    .map((issuer) => issuer.trim())
    .filter((issuer) => issuer !== '');
}

function addIssuers(constants) {
  const accepted = constants && constants.VALID_ISSUE_PREFIXES;
  if (!Array.isArray(accepted)) {
    warn('VALID_ISSUE_PREFIXES not found; token issuers extension not active');
    return;
  }
  const issuers = configuredIssuers();
  for (const issuer of issuers) if (!accepted.includes(issuer)) accepted.push(issuer);
  process.stderr.write(`kluis: azurite token issuers extension active (${issuers.length} issuer${issuers.length === 1 ? '' : 's'} added)\n`);
}

whenAzuriteLoads('dist/src/common/utils/constants.js', addIssuers, { name: 'token issuers' });

module.exports = { configuredIssuers };
