/**
 * Where role assignments come from when a request is authorized: Kluis's own catalog (the
 * `{prefix}RoleAssignments` table, managed through the roleAssignments routes) or, in Azure with
 * KLUIS_AUTHORIZATION=azure, Azure RBAC itself (azure/azure-rbac-source.ts, read-only).
 *
 * The catalog keeps one partition per principal (its object id, lower case), one row per assignment
 * (its GUID name), so authorizing a request reads one partition.
 */
import { builtInRole, type RoleDefinition } from '../domain/authorization/role-definitions';
import type { RoleAssignmentRecord } from '../domain/authorization/role-assignment';
import { collect, type DocumentStore } from './document-store';

export interface RoleAssignmentSource {
  readonly kind: 'catalog' | 'azure';
  /**
   * The principal's assignments that can apply in the subscription (every scope of it, and the root);
   * undefined subscription: tenant-level requests, where only root assignments apply.
   */
  assignmentsOf(principalId: string, subscriptionId: string | undefined): Promise<RoleAssignmentRecord[]>;
  /** A role definition by its GUID. */
  roleDefinition(guid: string): Promise<RoleDefinition | undefined>;
}

/** The catalog's assignments (partition = principal id). */
export class CatalogRoleAssignments implements RoleAssignmentSource {
  readonly kind = 'catalog' as const;

  constructor(readonly store: DocumentStore<RoleAssignmentRecord>) {}

  async assignmentsOf(principalId: string): Promise<RoleAssignmentRecord[]> {
    return (await collect(this.store.list(principalId.toLowerCase()))).map((doc) => doc.value);
  }

  async roleDefinition(guid: string): Promise<RoleDefinition | undefined> {
    return builtInRole(guid);
  }

  /** Every assignment (lists at a scope; Kluis's numbers are small). */
  async all(): Promise<RoleAssignmentRecord[]> {
    return (await collect(this.store.listAll())).map((doc) => doc.value);
  }

  async byName(name: string): Promise<RoleAssignmentRecord | undefined> {
    const wanted = name.toLowerCase();
    for await (const doc of this.store.listAll()) if (doc.row === wanted) return doc.value;
    return undefined;
  }

  async insert(record: RoleAssignmentRecord): Promise<void> {
    await this.store.insert(record.principalId, record.name, record);
  }

  async delete(record: RoleAssignmentRecord): Promise<void> {
    await this.store.delete(record.principalId, record.name);
  }
}
