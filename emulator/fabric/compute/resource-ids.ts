/**
 * ARM resource ids and names of the Microsoft.Compute resources the fabric serves: disks, snapshots,
 * virtual machines, restore point collections, their restore points and disk restore points. Names are
 * case-insensitive (`keyOf`); ids keep the casing they were created with.
 */
import { computeErrors } from './errors';

export const COMPUTE_NAMESPACE = 'Microsoft.Compute';

export const RESOURCE_TYPES = {
  disk: 'Microsoft.Compute/disks',
  snapshot: 'Microsoft.Compute/snapshots',
  virtualMachine: 'Microsoft.Compute/virtualMachines',
  restorePointCollection: 'Microsoft.Compute/restorePointCollections',
  restorePoint: 'Microsoft.Compute/restorePointCollections/restorePoints',
  diskRestorePoint: 'Microsoft.Compute/restorePointCollections/restorePoints/diskRestorePoints',
} as const;

/** A top-level resource of a resource group. */
export interface ResourceRef {
  subscriptionId: string;
  resourceGroup: string;
  name: string;
}

export interface RestorePointRef extends ResourceRef {
  /** The restore point collection; `name` is the restore point's. */
  collection: string;
}

export interface DiskRestorePointRef extends RestorePointRef {
  /** The restore point; `name` is the disk restore point's. */
  restorePoint: string;
}

export type ParsedComputeId =
  | ({ kind: 'disk' | 'snapshot' | 'virtualMachine' | 'restorePointCollection' } & ResourceRef)
  | ({ kind: 'restorePoint' } & RestorePointRef)
  | ({ kind: 'diskRestorePoint' } & DiskRestorePointRef);

const groupPrefix = (ref: Pick<ResourceRef, 'subscriptionId' | 'resourceGroup'>) =>
  `/subscriptions/${ref.subscriptionId}/resourceGroups/${ref.resourceGroup}/providers/${COMPUTE_NAMESPACE}`;

export const diskId = (ref: ResourceRef) => `${groupPrefix(ref)}/disks/${ref.name}`;
export const snapshotId = (ref: ResourceRef) => `${groupPrefix(ref)}/snapshots/${ref.name}`;
export const collectionId = (ref: ResourceRef) => `${groupPrefix(ref)}/restorePointCollections/${ref.name}`;
export const restorePointId = (ref: RestorePointRef) => `${groupPrefix(ref)}/restorePointCollections/${ref.collection}/restorePoints/${ref.name}`;
export const diskRestorePointId = (ref: DiskRestorePointRef) =>
  `${groupPrefix(ref)}/restorePointCollections/${ref.collection}/restorePoints/${ref.restorePoint}/diskRestorePoints/${ref.name}`;

const ID =
  /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Compute\/(disks|snapshots|virtualMachines|restorePointCollections)\/([^/]+)(?:\/restorePoints\/([^/]+)(?:\/diskRestorePoints\/([^/]+))?)?$/i;

const KIND_OF_SEGMENT: Record<string, 'disk' | 'snapshot' | 'virtualMachine' | 'restorePointCollection'> = {
  disks: 'disk',
  snapshots: 'snapshot',
  virtualmachines: 'virtualMachine',
  restorepointcollections: 'restorePointCollection',
};

/** The parts of a Compute resource id (segments matched case-insensitively), or undefined. */
export function parseComputeId(id: string): ParsedComputeId | undefined {
  const match = ID.exec(id.trim().replace(/\/+$/, ''));
  if (match === null) return undefined;
  const [, subscriptionId, resourceGroup, segment, name, restorePoint, diskRestorePoint] = match;
  const kind = KIND_OF_SEGMENT[segment.toLowerCase()];
  if (restorePoint !== undefined && kind !== 'restorePointCollection') return undefined;
  if (diskRestorePoint !== undefined) {
    return { kind: 'diskRestorePoint', subscriptionId, resourceGroup, collection: name, restorePoint, name: diskRestorePoint };
  }
  if (restorePoint !== undefined) return { kind: 'restorePoint', subscriptionId, resourceGroup, collection: name, name: restorePoint };
  return { kind, subscriptionId, resourceGroup, name };
}

/** Case-insensitive identity of a resource, for store keys, maps and comparisons. */
export function sameId(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

// Disks, snapshots, restore point collections and restore points: letters, digits, underscores, periods
// and hyphens; starts with a letter or digit; ends with a letter, digit or underscore; 1–80 characters.
const NAME = /^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,78}[A-Za-z0-9_])?$/;
const SUBSCRIPTION_ID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const RESOURCE_GROUP = /^[-\w.()\p{L}\p{N}]{1,90}$/u;

/** Throws InvalidParameter naming `target` when `name` is not a valid resource name. */
export function assertResourceName(name: string, what: string, target = 'name'): string {
  if (!NAME.test(name)) {
    throw computeErrors.invalidParameter(
      target,
      `The ${what} name '${name.slice(0, 100)}' is invalid: use 1–80 letters, digits, underscores, periods and hyphens, starting with a letter or digit and ending with a letter, digit or underscore.`,
    );
  }
  return name;
}

export function assertSubscriptionId(value: string): string {
  if (!SUBSCRIPTION_ID.test(value)) throw computeErrors.invalidParameter('subscriptionId', `The subscription id '${value.slice(0, 100)}' is not a GUID.`);
  return value;
}

export function assertResourceGroupName(value: string): string {
  if (!RESOURCE_GROUP.test(value) || value.endsWith('.')) {
    throw computeErrors.invalidParameter('resourceGroupName', `The resource group name '${value.slice(0, 100)}' is invalid.`);
  }
  return value;
}
