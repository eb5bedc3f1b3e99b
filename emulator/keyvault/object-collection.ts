/**
 * One vault's secrets or keys: named objects with versions (the last one is the current), soft delete
 * (a deleted object keeps all its versions until recovered, purged, or its scheduled purge date
 * passes) and restore from a backup. Names are case-insensitive and keep the casing they were created
 * with, as in Key Vault. Times are Unix seconds from the injected clock.
 */
import { randomUUID } from 'node:crypto';
import { keyVaultErrors, type ObjectKind } from './errors';

export interface VersionMeta {
  version: string;
  enabled: boolean;
  nbf?: number;
  exp?: number;
  created: number;
  updated: number;
  tags?: Record<string, string>;
}

export interface StoredObject<V extends VersionMeta> {
  name: string;
  /** In creation order: the last one is the current version. */
  versions: V[];
}

export interface DeletedObject<V extends VersionMeta> extends StoredObject<V> {
  deletedDate: number;
  scheduledPurgeDate: number;
}

export interface CollectionSnapshot<V extends VersionMeta> {
  live: StoredObject<V>[];
  deleted: DeletedObject<V>[];
}

export interface CollectionClock {
  /** Unix seconds. */
  now(): number;
  /** The vault's soft-delete retention. */
  retentionDays(): number;
}

const NAME = /^[0-9a-zA-Z-]{1,127}$/;
const DAY_IN_SECONDS = 24 * 60 * 60;

export function newVersionId(): string {
  return randomUUID().replace(/-/g, '');
}

export function assertValidObjectName(name: string): void {
  if (!NAME.test(name)) throw keyVaultErrors.invalidName(name);
}

const byName = <T extends { name: string }>(a: T, b: T): number => a.name.toLowerCase().localeCompare(b.name.toLowerCase());

export class ObjectCollection<V extends VersionMeta> {
  private readonly live = new Map<string, StoredObject<V>>();
  private readonly deleted = new Map<string, DeletedObject<V>>();

  constructor(
    readonly kind: ObjectKind,
    private readonly clock: CollectionClock,
    snapshot?: CollectionSnapshot<V>,
  ) {
    snapshot?.live.forEach((object) => this.live.set(object.name.toLowerCase(), object));
    snapshot?.deleted.forEach((object) => this.deleted.set(object.name.toLowerCase(), object));
  }

  /** Adds a version (creating the object when new); refused while the name is soft-deleted. */
  addVersion(name: string, version: V): StoredObject<V> {
    assertValidObjectName(name);
    this.sweep();
    const key = name.toLowerCase();
    if (this.deleted.has(key)) throw keyVaultErrors.deletedButRecoverable(this.kind, this.deleted.get(key)!.name);
    let object = this.live.get(key);
    if (object === undefined) {
      object = { name, versions: [] };
      this.live.set(key, object);
    }
    object.versions.push(version);
    return object;
  }

  /** Refuses early (before slow work such as key generation) when the name cannot take a new version. */
  assertCanAdd(name: string): void {
    assertValidObjectName(name);
    this.sweep();
    const deleted = this.deleted.get(name.toLowerCase());
    if (deleted !== undefined) throw keyVaultErrors.deletedButRecoverable(this.kind, deleted.name);
  }

  /** The object and one of its versions; `version` empty or absent means the current one. */
  get(name: string, version?: string): { object: StoredObject<V>; version: V } {
    assertValidObjectName(name);
    const object = this.live.get(name.toLowerCase());
    const shownId = version ? `${name}/${version}` : name;
    if (object === undefined) throw keyVaultErrors.notFound(this.kind, shownId);
    const found = version ? object.versions.find((v) => v.version === version.toLowerCase()) : object.versions[object.versions.length - 1];
    if (found === undefined) throw keyVaultErrors.notFound(this.kind, shownId);
    return { object, version: found };
  }

  list(): StoredObject<V>[] {
    return [...this.live.values()].sort(byName);
  }

  versionsOf(name: string): { object: StoredObject<V>; versions: V[] } {
    assertValidObjectName(name);
    const object = this.live.get(name.toLowerCase());
    if (object === undefined) throw keyVaultErrors.notFound(this.kind, name);
    return { object, versions: [...object.versions] };
  }

  delete(name: string): DeletedObject<V> {
    assertValidObjectName(name);
    this.sweep();
    const key = name.toLowerCase();
    const object = this.live.get(key);
    if (object === undefined) throw keyVaultErrors.notFound(this.kind, name);
    const now = this.clock.now();
    const deleted: DeletedObject<V> = { ...object, deletedDate: now, scheduledPurgeDate: now + this.clock.retentionDays() * DAY_IN_SECONDS };
    this.live.delete(key);
    this.deleted.set(key, deleted);
    return deleted;
  }

  getDeleted(name: string): DeletedObject<V> {
    assertValidObjectName(name);
    this.sweep();
    const deleted = this.deleted.get(name.toLowerCase());
    if (deleted === undefined) throw keyVaultErrors.deletedNotFound(this.kind);
    return deleted;
  }

  listDeleted(): DeletedObject<V>[] {
    this.sweep();
    return [...this.deleted.values()].sort(byName);
  }

  recover(name: string): StoredObject<V> {
    const deleted = this.getDeleted(name);
    const key = name.toLowerCase();
    this.deleted.delete(key);
    const object: StoredObject<V> = { name: deleted.name, versions: deleted.versions };
    this.live.set(key, object);
    return object;
  }

  purge(name: string): void {
    this.getDeleted(name);
    this.deleted.delete(name.toLowerCase());
  }

  /** Puts back an object from a backup, with all its versions; refused while the name is in use or soft-deleted. */
  restore(object: StoredObject<V>): StoredObject<V> {
    assertValidObjectName(object.name);
    this.sweep();
    const key = object.name.toLowerCase();
    if (this.deleted.has(key)) throw keyVaultErrors.deletedButRecoverable(this.kind, this.deleted.get(key)!.name);
    if (this.live.has(key)) throw keyVaultErrors.alreadyExists(this.kind, this.live.get(key)!.name);
    this.live.set(key, object);
    return object;
  }

  snapshot(): CollectionSnapshot<V> {
    this.sweep();
    return { live: this.list(), deleted: this.listDeleted() };
  }

  /** Deleted objects whose scheduled purge date has passed are gone, as in Key Vault. */
  private sweep(): void {
    const now = this.clock.now();
    for (const [key, deleted] of this.deleted) if (deleted.scheduledPurgeDate <= now) this.deleted.delete(key);
  }
}
