/**
 * How clients come to trust the Key Vault emulator without turning TLS verification off: the CA and
 * server certificate it generates (once, shared by processes that start together, renewed before
 * expiry), the product's client options (the CA for loopback vaults only), and the local credential's
 * signed token from the identity endpoint, which the emulator verifies.
 */
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { rootCertificates } from 'node:tls';
import { SecretClient } from '@azure/keyvault-secrets';
import { ensureTlsMaterial } from '../../emulator/local-ca';
import { KEYVAULT_CA_FILE_SETTING, isLoopbackVaultUrl, keyVaultClientOptions } from '../../lib/stores/azure/keyvault-client-options';
import { PER_TRY_POLICY_NAME } from '../../lib/stores/azure/storage-retry';
import { startFaultProxy } from '../support/fault-proxy/fault-proxy';
import { scriptedFaults } from '../support/fault-proxy/faults';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { BACKUP_IDENTITY, startIdentityEndpoint, type RunningIdentityEndpoint } from '../../emulator/identity';
import { LOCAL_TENANT_ID, LocalPrincipalCredential } from '../../lib/stores/azure/keyvault-credential';
import { ALL_PERMISSIONS, newObjectId, principalCredential, restErrorOf, startTestKeyVaultEmulator, uniqueVaultName, useKeyVaultEmulator, type TestKeyVaultEmulator } from '../support/keyvault';

const DAY_IN_MS = 24 * 60 * 60 * 1000;

describe('Key Vault emulator TLS material', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'kluis-keyvault-tls-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('generates one CA and a server certificate for localhost and 127.0.0.1, the same for starts at once', async () => {
    const [a, b] = await Promise.all([ensureTlsMaterial(dir), ensureTlsMaterial(dir)]);
    expect(a.caCertPem).toBe(b.caCertPem);
    expect(a.serverCertPem).toBe(b.serverCertPem);
    expect(readFileSync(a.caCertPath, 'utf8')).toBe(a.caCertPem);
    expect(statSync(path.join(dir, 'tls.json')).mode & 0o777).toBe(0o600);
    const ca = new X509Certificate(a.caCertPem);
    const server = new X509Certificate(a.serverCertPem);
    expect(ca.ca).toBe(true);
    expect(server.ca).toBe(false);
    expect(server.checkIssued(ca) && server.verify(ca.publicKey)).toBe(true);
    expect(server.subjectAltName).toContain('DNS:localhost');
    expect(server.subjectAltName).toContain('IP Address:127.0.0.1');
    expect((await ensureTlsMaterial(dir)).serverCertPem).toBe(a.serverCertPem);
  });

  it('renews an expiring server certificate under the same CA, and a CA only when it expires', async () => {
    const first = await ensureTlsMaterial(dir);
    const renewed = await ensureTlsMaterial(dir, { now: new Date(Date.now() + 800 * DAY_IN_MS) });
    expect(renewed.caCertPem).toBe(first.caCertPem);
    expect(renewed.serverCertPem).not.toBe(first.serverCertPem);
    expect(new X509Certificate(renewed.serverCertPem).checkIssued(new X509Certificate(first.caCertPem))).toBe(true);
    const replaced = await ensureTlsMaterial(dir, { now: new Date(Date.now() + 3640 * DAY_IN_MS) });
    expect(replaced.caCertPem).not.toBe(first.caCertPem);
    expect(readFileSync(replaced.caCertPath, 'utf8')).toBe(replaced.caCertPem);
  });
});

describe('Key Vault client options', () => {
  const kv = useKeyVaultEmulator();

  it('leave real Key Vault URLs to the SDK defaults, with each try bounded in time', () => {
    expect(isLoopbackVaultUrl('https://kluis-kv.vault.azure.net')).toBe(false);
    expect(keyVaultClientOptions('https://kluis-kv.vault.azure.net/', { caCertificatePem: 'ignored' }, { retryOptions: { maxRetries: 2 } })).toEqual({
      retryOptions: { maxRetries: 2 },
      additionalPolicies: [{ policy: expect.objectContaining({ name: PER_TRY_POLICY_NAME }), position: 'perRetry' }],
    });
  });

  it('behind the fault proxy: a try that never answers is abandoned and retried, a 503 waited out, a reset retried', async () => {
    const objectId = newObjectId();
    const vault = await kv().createVault({ name: uniqueVaultName(), accessPolicies: [{ objectId, permissions: ALL_PERMISSIONS }] });
    const target = new URL(vault.url);
    // The proxy answers TLS with certificates of its own CA, which the client trusts as it would the emulator's.
    const proxyTlsDir = mkdtempSync(path.join(tmpdir(), 'kluis-kv-proxy-tls-'));
    const proxyTls = await ensureTlsMaterial(proxyTlsDir);
    const proxy = await startFaultProxy({ target: target.origin, tls: { key: proxyTls.serverKeyPem, cert: proxyTls.serverCertPem }, upstreamCa: kv().caCertificatePem });
    try {
      const url = `${proxy.origin}${target.pathname}`;
      const client = new SecretClient(
        url,
        principalCredential(kv(), objectId),
        keyVaultClientOptions(url, { caCertificatePem: proxyTls.caCertPem }, { retryOptions: { retryDelayInMs: 20, maxRetryDelayInMs: 100 } }, 400),
      );
      await client.setSecret('through-faults', 'yes');
      const secretCalls = (r: { path: string }) => r.path.includes('/secrets/through-faults');
      proxy.setSchedule(
        scriptedFaults([
          { match: secretCalls, fault: { kind: 'hang' } },
          { match: secretCalls, fault: { kind: 'status', status: 503, code: 'ServiceUnavailable', retryAfterSeconds: 1 } },
          { match: secretCalls, fault: { kind: 'reset', at: 'before-request-body' } },
        ]),
      );
      const started = Date.now();
      expect((await client.getSecret('through-faults')).value).toBe('yes');
      expect(proxy.injected().map((f) => f.fault.kind)).toEqual(['hang', 'status', 'reset']);
      expect(Date.now() - started).toBeGreaterThanOrEqual(1_300);
    } finally {
      await proxy.close();
      rmSync(proxyTlsDir, { recursive: true, force: true });
    }
  });

  it('trust the CA for loopback vaults only, read from the file the setting names', async () => {
    expect(isLoopbackVaultUrl('https://localhost:8443')).toBe(true);
    const options = keyVaultClientOptions('https://127.0.0.1:8443', { caCertificateFile: kv().caCertPath });
    expect(options.disableChallengeResourceVerification).toBe(true);
    expect(options.tlsOptions?.ca).toEqual([...rootCertificates, kv().caCertificatePem]);

    const objectId = newObjectId();
    const vault = await kv().createVault({ name: uniqueVaultName(), accessPolicies: [{ objectId, permissions: ALL_PERMISSIONS }] });
    const client = new SecretClient(vault.url, principalCredential(kv(), objectId), keyVaultClientOptions(vault.url, { caCertificateFile: kv().caCertPath }));
    await client.setSecret('trusted', 'yes');
    expect((await client.getSecret('trusted')).value).toBe('yes');
  });

  it('name the setting when the CA file is missing or holds no certificate', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kluis-keyvault-ca-'));
    try {
      const notPem = path.join(dir, 'not.pem');
      writeFileSync(notPem, 'hello');
      for (const file of [path.join(dir, 'missing.pem'), notPem]) {
        expect(() => keyVaultClientOptions('https://127.0.0.1:1', { caCertificateFile: file })).toThrow(expect.objectContaining({ code: 'KluisInvalidConfiguration', target: KEYVAULT_CA_FILE_SETTING }));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('LocalPrincipalCredential', () => {
  let dir: string;
  let identity: RunningIdentityEndpoint;
  let kv: TestKeyVaultEmulator;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'kluis-local-credential-'));
    identity = await startIdentityEndpoint({ dataDir: path.join(dir, 'identity'), tls: await ensureTlsMaterial(path.join(dir, 'tls')) });
    kv = await startTestKeyVaultEmulator({ tokenTrust: () => ({ issuers: [identity.issuer], keys: identity.service.jwks() }) });
  });

  afterAll(async () => {
    await kv?.dispose();
    await identity?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const endpoint = () => ({ msiEndpoint: identity.msiEndpoint, secret: identity.msiSecret });

  it("gets the backup identity's signed token from the identity endpoint, which the emulator accepts", async () => {
    const credential = new LocalPrincipalCredential({ objectId: BACKUP_IDENTITY.objectId }, endpoint());
    const token = await credential.getToken('https://vault.azure.net/.default');
    const { payload, protectedHeader } = await jwtVerify(token!.token, createLocalJWKSet(identity.service.jwks()), { issuer: identity.issuer, audience: 'https://vault.azure.net' });
    expect(protectedHeader.alg).toBe('RS256');
    expect(payload).toMatchObject({ oid: BACKUP_IDENTITY.objectId, tid: LOCAL_TENANT_ID, idtyp: 'app' });
    expect(token!.expiresOnTimestamp).toBeGreaterThan(Date.now() + 30 * 60_000);
    // Cached until shortly before it expires.
    expect((await credential.getToken('https://vault.azure.net/.default'))!.token).toBe(token!.token);

    const vault = await kv.emulator.createVault({ name: uniqueVaultName(), accessPolicies: [{ objectId: BACKUP_IDENTITY.objectId, permissions: ALL_PERMISSIONS }] });
    const client = new SecretClient(vault.url, credential, keyVaultClientOptions(vault.url, { caCertificateFile: kv.emulator.caCertPath }, { retryOptions: { maxRetries: 0 } }));
    await client.setSecret('signed', 'yes');
    expect((await client.getSecret('signed')).value).toBe('yes');
    // A token the test signs itself is refused by this emulator: it trusts the identity endpoint's keys only.
    const forged = new SecretClient(vault.url, principalCredential(kv.emulator, BACKUP_IDENTITY.objectId), keyVaultClientOptions(vault.url, { caCertificateFile: kv.emulator.caCertPath }, { retryOptions: { maxRetries: 0 } }));
    expect((await restErrorOf(forged.getSecret('signed'))).statusCode).toBe(401);
  });

  it('names the principal and the reason when the endpoint gives no token (unknown identity, wrong secret)', async () => {
    await expect(new LocalPrincipalCredential({ objectId: newObjectId() }, endpoint()).getToken('https://vault.azure.net/.default')).rejects.toThrow(/gave no token for [0-9a-f-]{36} \(HTTP 400/);
    await expect(new LocalPrincipalCredential({ objectId: BACKUP_IDENTITY.objectId }, { ...endpoint(), secret: 'wrong' }).getToken('https://vault.azure.net/.default')).rejects.toThrow(/HTTP 4\d\d/);
    expect(() => new LocalPrincipalCredential({ objectId: ' ' }, endpoint())).toThrow(/object id/);
  });
});
