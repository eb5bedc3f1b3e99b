import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { authorize, generateKey, HostSecrets, loadOrCreateSecrets, MASTER_KEY_NAME, presentedKey, SecretsFileError } from '../../emulator/http-auth';

describe('loadOrCreateSecrets', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kluis-secrets-'));
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('creates the directory and an owner-only file with random base64url keys', async () => {
    const file = path.join(dir, '.kluis', 'nested', 'secrets.json');
    const secrets = await loadOrCreateSecrets(file);
    expect(secrets.masterKey).toMatch(/^[A-Za-z0-9_-]{43}$/); // 32 bytes
    expect(secrets.functionKeys.default).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(secrets.functionKeys.default).not.toBe(secrets.masterKey);
    expect(secrets.functionSpecific).toEqual({});
    const stat = await fs.stat(file);
    expect(stat.mode & 0o777).toBe(0o600);
    expect(JSON.parse(await fs.readFile(file, 'utf8'))).toEqual(secrets);
    expect((await fs.readdir(path.dirname(file))).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('returns the same keys on the next start', async () => {
    const file = path.join(dir, 'secrets.json');
    const first = await loadOrCreateSecrets(file);
    expect(await loadOrCreateSecrets(file)).toEqual(first);
  });

  it('ends with one set of keys when several hosts start at once', async () => {
    const file = path.join(dir, 'secrets.json');
    const all = await Promise.all(Array.from({ length: 6 }, () => loadOrCreateSecrets(file)));
    for (const secrets of all) expect(secrets).toEqual(all[0]);
    expect(JSON.parse(await fs.readFile(file, 'utf8'))).toEqual(all[0]);
  });

  it('reads a hand-written file, with function-specific keys optional', async () => {
    const file = path.join(dir, 'secrets.json');
    await fs.writeFile(file, JSON.stringify({ masterKey: 'm', functionKeys: { default: 'd', ci: 'c' }, functionSpecific: { GetVault: { reader: 'r' } } }));
    expect(await loadOrCreateSecrets(file)).toEqual({ masterKey: 'm', functionKeys: { default: 'd', ci: 'c' }, functionSpecific: { GetVault: { reader: 'r' } } });
    await fs.writeFile(file, JSON.stringify({ masterKey: 'm', functionKeys: { default: 'd' } }));
    expect((await loadOrCreateSecrets(file)).functionSpecific).toEqual({});
  });

  it('rejects a malformed file without echoing any key', async () => {
    const file = path.join(dir, 'secrets.json');
    await fs.writeFile(file, '{ "masterKey": "top-secret-value", ');
    await expect(loadOrCreateSecrets(file)).rejects.toThrow(SecretsFileError);
    await expect(loadOrCreateSecrets(file)).rejects.toThrow(/is not JSON/);

    await fs.writeFile(file, JSON.stringify({ masterKey: 'top-secret-value', functionKeys: { default: 'another-secret', bad: 42 } }));
    const error = (await loadOrCreateSecrets(file).catch((e: unknown) => e)) as SecretsFileError;
    expect(error).toBeInstanceOf(SecretsFileError);
    expect(error.code).toBe('InvalidSecretsFile');
    expect(error.message).toContain(file);
    expect(error.message).toContain('functionKeys.bad');
    expect(error.message).not.toMatch(/top-secret-value|another-secret/);

    await fs.writeFile(file, JSON.stringify({ functionKeys: {} }));
    await expect(loadOrCreateSecrets(file)).rejects.toThrow(/masterKey/);
  });

  it('does not overwrite an unreadable path', async () => {
    const file = path.join(dir, 'secrets.json');
    await fs.mkdir(file);
    await expect(loadOrCreateSecrets(file)).rejects.toThrow(/EISDIR/);
  });
});

describe('authorize', () => {
  const secrets: HostSecrets = {
    masterKey: 'master-key',
    functionKeys: { default: 'host-default', ci: 'host-ci' },
    functionSpecific: { GetVault: { reader: 'getvault-reader' }, Other: { x: 'other-x' } },
  };

  const cases: [level: 'anonymous' | 'function' | 'admin', fn: string, key: string | undefined, expected: ReturnType<typeof authorize>][] = [
    ['anonymous', 'GetVault', undefined, { ok: true }],
    ['anonymous', 'GetVault', 'wrong', { ok: true }],
    ['anonymous', 'GetVault', 'host-ci', { ok: true, keyName: 'ci' }],
    ['function', 'GetVault', undefined, { ok: false }],
    ['function', 'GetVault', '', { ok: false }],
    ['function', 'GetVault', 'wrong', { ok: false }],
    ['function', 'GetVault', 'host-default', { ok: true, keyName: 'default' }],
    ['function', 'GetVault', 'host-ci', { ok: true, keyName: 'ci' }],
    ['function', 'GetVault', 'getvault-reader', { ok: true, keyName: 'reader' }],
    ['function', 'getvault', 'getvault-reader', { ok: true, keyName: 'reader' }], // function names are case-insensitive
    ['function', 'GetVault', 'other-x', { ok: false }], // another function's key
    ['function', 'GetVault', 'master-key', { ok: true, keyName: MASTER_KEY_NAME }],
    ['function', 'GetVault', 'host-default ', { ok: false }],
    ['function', 'GetVault', 'HOST-DEFAULT', { ok: false }],
    ['admin', 'GetVault', 'master-key', { ok: true, keyName: '_master' }],
    ['admin', 'GetVault', 'host-default', { ok: false }],
    ['admin', 'GetVault', 'getvault-reader', { ok: false }],
    ['admin', '', undefined, { ok: false }],
  ];
  it.each(cases)('%s level for %s with key %j', (level, fn, key, expected) => {
    expect(authorize(level, fn, key, secrets)).toEqual(expected);
  });

  it('rejects an unknown level', () => {
    expect(authorize('system' as never, 'GetVault', 'master-key', secrets)).toEqual({ ok: false });
  });

  it('generates distinct keys', () => {
    expect(new Set(Array.from({ length: 20 }, generateKey)).size).toBe(20);
  });
});

describe('presentedKey', () => {
  it('reads the x-functions-key header from Headers or a plain record, any case', () => {
    expect(presentedKey(new Headers({ 'X-Functions-Key': 'k1' }), new URLSearchParams())).toBe('k1');
    expect(presentedKey({ 'X-FUNCTIONS-KEY': 'k2' }, new URLSearchParams())).toBe('k2');
    expect(presentedKey({ 'x-functions-key': ['k3', 'k4'] }, new URLSearchParams())).toBe('k3');
  });

  it('falls back to the code query parameter; the header wins', () => {
    expect(presentedKey({}, new URLSearchParams('code=q1'))).toBe('q1');
    expect(presentedKey({ 'x-functions-key': 'h' }, new URLSearchParams('code=q'))).toBe('h');
    expect(presentedKey({ 'x-functions-key': '' }, new URLSearchParams('code=q'))).toBe('q');
  });

  it('is undefined when nothing (or an empty value) is sent', () => {
    expect(presentedKey({}, new URLSearchParams())).toBeUndefined();
    expect(presentedKey({ 'x-functions-key': undefined }, new URLSearchParams('code='))).toBeUndefined();
  });
});
