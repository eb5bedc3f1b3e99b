/**
 * The local directory: named principals of one tenant, as Entra ID knows them — users (object id, user
 * principal name), service principals (object id, application/client id, a client secret stored only
 * as a salted scrypt hash and shown once) and managed identities (object id, client id). Four are always
 * there: the default managed identity (what MSI_SECRET signs in, as an App Service app's identity; the
 * local administrator), the default user (what the Cloud Shell shape signs in), and the managed
 * identities the app and the fabric present to Key Vault (kluis-backup, kluis-ade). Created principals live in memory, or in
 * `<dir>/principals.json` (mode 600) when persisted.
 */
import { randomBytes, randomUUID, scryptSync, timingSafeEqual } from 'node:crypto';
import path from 'node:path';
import { readTextFile, writeAtomically } from '../atomic-file';
import { identityErrors } from './errors';

export type PrincipalKind = 'user' | 'servicePrincipal' | 'managedIdentity';

export const PRINCIPAL_KINDS: readonly PrincipalKind[] = ['user', 'servicePrincipal', 'managedIdentity'];

export interface Principal {
  objectId: string;
  kind: PrincipalKind;
  displayName: string;
  /** Service principals and managed identities: the application (client) id. */
  appId?: string;
  /** Users: the sign-in name (upn), e.g. user@kluis.local. */
  userPrincipalName?: string;
  createdDateTime: string;
}

interface StoredPrincipal extends Principal {
  /** Service principals: `scrypt$<salt>$<hash>` (base64url) of the client secret. */
  secretHash?: string;
}

export interface NewPrincipal {
  displayName: string;
  kind: PrincipalKind;
  /** Default: a new GUID. */
  objectId?: string;
  /** Service principals and managed identities; default: a new GUID. */
  appId?: string;
  /** Users; default: `<display name, lower case, dots>@<domain>`. */
  userPrincipalName?: string;
}

export interface CreatedPrincipal {
  principal: Principal;
  /** Service principals only: the client secret, shown this once. */
  secret?: string;
}

/** The default managed identity: what the App Service shape (MSI_ENDPOINT + MSI_SECRET) signs in. */
export const DEFAULT_MANAGED_IDENTITY: Principal = {
  objectId: '00000000-0000-0000-0000-0000000000a1',
  kind: 'managedIdentity',
  displayName: 'kluis-local-identity',
  appId: '00000000-0000-0000-0000-0000000000c1',
  createdDateTime: '2026-01-01T00:00:00.000Z',
};

/** The default user: what the Cloud Shell shape (MSI_ENDPOINT alone, POST) signs in. */
export const DEFAULT_USER: Principal = {
  objectId: '00000000-0000-0000-0000-0000000000a2',
  kind: 'user',
  displayName: 'Kluis local user',
  userPrincipalName: 'user@kluis.local',
  createdDateTime: '2026-01-01T00:00:00.000Z',
};

/** Kluis's backup identity (LOCAL_BACKUP_PRINCIPAL_ID): what the app reads encrypted VMs' keys and secrets as. */
export const BACKUP_IDENTITY: Principal = {
  objectId: '00000000-0000-0000-0000-00000000bac0',
  kind: 'managedIdentity',
  displayName: 'kluis-backup',
  appId: '00000000-0000-0000-0000-00000000bac1',
  createdDateTime: '2026-01-01T00:00:00.000Z',
};

/** The local fabric's Azure Disk Encryption operator (ADE_OPERATOR_OBJECT_ID): what `vm encrypt` writes keys as. */
export const ADE_IDENTITY: Principal = {
  objectId: '00000000-0000-0000-0000-000000000ade',
  kind: 'managedIdentity',
  displayName: 'kluis-ade',
  appId: '00000000-0000-0000-0000-000000000adf',
  createdDateTime: '2026-01-01T00:00:00.000Z',
};

const DEFAULTS: readonly Principal[] = [DEFAULT_MANAGED_IDENTITY, DEFAULT_USER, BACKUP_IDENTITY, ADE_IDENTITY];

const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const UPN = /^[A-Za-z0-9._%+'-]{1,64}@[A-Za-z0-9.-]{1,190}$/;
const PRINCIPALS_FILE = 'principals.json';
const SCRYPT_KEY_LENGTH = 32;

function hashSecret(secret: string): string {
  const salt = randomBytes(16);
  return `scrypt$${salt.toString('base64url')}$${scryptSync(secret, salt, SCRYPT_KEY_LENGTH).toString('base64url')}`;
}

function secretMatches(secret: string, stored: string | undefined): boolean {
  const [scheme, salt, hash] = (stored ?? '').split('$');
  if (scheme !== 'scrypt' || salt === undefined || hash === undefined) return false;
  const expected = Buffer.from(hash, 'base64url');
  const actual = scryptSync(secret, Buffer.from(salt, 'base64url'), expected.length);
  return expected.length === SCRYPT_KEY_LENGTH && timingSafeEqual(actual, expected);
}

/** A client secret as Entra ID shows them: 40 characters. */
function newClientSecret(): string {
  return randomBytes(30).toString('base64url');
}

const view = ({ secretHash: _secretHash, ...principal }: StoredPrincipal): Principal => principal;

export interface PrincipalRegistryOptions {
  /** Keep created principals in `<dir>/principals.json`. */
  persistDir?: string;
  /** Domain of generated user principal names; default kluis.local. */
  domain?: string;
  now?: () => Date;
}

export class PrincipalRegistry {
  private readonly principals = new Map<string, StoredPrincipal>();
  private readonly now: () => Date;

  constructor(private readonly options: PrincipalRegistryOptions = {}) {
    this.now = options.now ?? (() => new Date());
    for (const principal of DEFAULTS) this.principals.set(principal.objectId, { ...principal });
    for (const principal of this.readSaved()) this.principals.set(principal.objectId, principal);
  }

  list(): Principal[] {
    return [...this.principals.values()].map(view).sort((a, b) => a.displayName.localeCompare(b.displayName) || a.objectId.localeCompare(b.objectId));
  }

  /** By object id, or by application (client) id. */
  get(id: string): Principal | undefined {
    const stored = this.find(id);
    return stored === undefined ? undefined : view(stored);
  }

  create(input: NewPrincipal): CreatedPrincipal {
    const request = input as Partial<NewPrincipal> | null;
    if (typeof request !== 'object' || request === null) throw identityErrors.invalidPrincipal('body', 'it must be a JSON object');
    const { displayName, kind } = request;
    if (typeof displayName !== 'string' || displayName.trim() === '' || displayName.length > 256) throw identityErrors.invalidPrincipal('displayName', 'it must be 1–256 characters');
    if (typeof kind !== 'string' || !PRINCIPAL_KINDS.includes(kind as PrincipalKind)) throw identityErrors.invalidPrincipal('kind', `it must be one of ${PRINCIPAL_KINDS.join(', ')}`);
    const objectId = this.newId('objectId', request.objectId);
    const principal: StoredPrincipal = { objectId, kind: kind as PrincipalKind, displayName: displayName.trim(), createdDateTime: this.now().toISOString() };
    let secret: string | undefined;
    if (kind === 'user') {
      if (request.appId !== undefined) throw identityErrors.invalidPrincipal('appId', 'users have no application id');
      const upn = request.userPrincipalName ?? `${displayName.trim().toLowerCase().replace(/[^a-z0-9]+/g, '.').replace(/^\.|\.$/g, '') || 'user'}@${this.options.domain ?? 'kluis.local'}`;
      if (typeof upn !== 'string' || !UPN.test(upn)) throw identityErrors.invalidPrincipal('userPrincipalName', 'it must be name@domain');
      if ([...this.principals.values()].some((p) => p.userPrincipalName?.toLowerCase() === upn.toLowerCase())) throw identityErrors.principalExists('userPrincipalName', upn);
      principal.userPrincipalName = upn;
    } else {
      if (request.userPrincipalName !== undefined) throw identityErrors.invalidPrincipal('userPrincipalName', 'only users have one');
      principal.appId = this.newId('appId', request.appId);
      if (kind === 'servicePrincipal') {
        secret = newClientSecret();
        principal.secretHash = hashSecret(secret);
      }
    }
    this.principals.set(objectId, principal);
    this.save();
    return { principal: view(principal), ...(secret === undefined ? {} : { secret }) };
  }

  /** Removes a created principal (the defaults stay); false when there was none. */
  delete(id: string): boolean {
    const stored = this.find(id);
    if (stored === undefined) return false;
    if (DEFAULTS.some((p) => p.objectId === stored.objectId)) throw identityErrors.defaultPrincipal(stored.objectId);
    this.principals.delete(stored.objectId);
    this.save();
    return true;
  }

  /** The service principal whose client id and secret these are, else undefined (unknown client or wrong secret alike). */
  verifyClientSecret(clientId: string, secret: string): Principal | undefined {
    const stored = this.find(clientId);
    if (stored?.kind !== 'servicePrincipal' || stored.appId?.toLowerCase() !== clientId.toLowerCase()) return undefined;
    return secretMatches(secret, stored.secretHash) ? view(stored) : undefined;
  }

  /** A managed identity by client id or object id. */
  managedIdentity(by: { clientId?: string; objectId?: string }): Principal | undefined {
    const id = by.clientId ?? by.objectId;
    if (id === undefined) return undefined;
    const stored = this.find(id);
    if (stored?.kind !== 'managedIdentity') return undefined;
    if (by.clientId !== undefined && stored.appId?.toLowerCase() !== by.clientId.toLowerCase()) return undefined;
    if (by.objectId !== undefined && stored.objectId !== by.objectId.toLowerCase()) return undefined;
    return view(stored);
  }

  private find(id: string): StoredPrincipal | undefined {
    const wanted = id.toLowerCase();
    const byObjectId = this.principals.get(wanted);
    if (byObjectId !== undefined) return byObjectId;
    return [...this.principals.values()].find((p) => p.appId?.toLowerCase() === wanted);
  }

  private newId(field: 'objectId' | 'appId', requested: unknown): string {
    if (requested === undefined) return randomUUID();
    if (typeof requested !== 'string' || !GUID.test(requested)) throw identityErrors.invalidPrincipal(field, 'it must be a GUID');
    const id = requested.toLowerCase();
    if (this.find(id) !== undefined) throw identityErrors.principalExists(field, id);
    return id;
  }

  private readSaved(): StoredPrincipal[] {
    if (this.options.persistDir === undefined) return [];
    const text = readTextFile(path.join(this.options.persistDir, PRINCIPALS_FILE));
    if (text === undefined) return [];
    const saved = JSON.parse(text) as { principals?: StoredPrincipal[] };
    return (saved.principals ?? []).filter((p) => typeof p.objectId === 'string' && GUID.test(p.objectId) && PRINCIPAL_KINDS.includes(p.kind));
  }

  private save(): void {
    if (this.options.persistDir === undefined) return;
    const created = [...this.principals.values()].filter((p) => !DEFAULTS.some((d) => d.objectId === p.objectId));
    writeAtomically(path.join(this.options.persistDir, PRINCIPALS_FILE), JSON.stringify({ principals: created }, null, 2), 0o600, false);
  }
}
