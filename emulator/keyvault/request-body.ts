/**
 * Reading Key Vault request bodies: a JSON object, object attributes (`enabled`, `nbf`, `exp` in Unix
 * seconds), tags and base64url values, each refused with 400 BadParameter naming the field.
 */
import { keyVaultErrors } from './errors';

export type JsonObject = Record<string, unknown>;

const MAX_TAGS = 15;
const MAX_TAG_NAME = 512;
const MAX_TAG_VALUE = 256;

export function readJsonObject(body: Buffer): JsonObject {
  if (body.length === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw keyVaultErrors.badParameter('The request body is not valid JSON.');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw keyVaultErrors.badParameter('The request body must be a JSON object.');
  return parsed as JsonObject;
}

export interface AttributesInput {
  enabled?: boolean;
  nbf?: number;
  exp?: number;
  exportable?: boolean;
}

function optionalSeconds(value: unknown, field: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw keyVaultErrors.badParameter(`Property '${field}' must be a Unix time in whole seconds.`);
  return value;
}

function optionalBoolean(value: unknown, field: string): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw keyVaultErrors.badParameter(`Property '${field}' must be true or false.`);
  return value;
}

export function readAttributes(body: JsonObject): AttributesInput {
  const attributes = body.attributes;
  if (attributes === undefined || attributes === null) return {};
  if (typeof attributes !== 'object' || Array.isArray(attributes)) throw keyVaultErrors.badParameter("Property 'attributes' must be an object.");
  const input = attributes as JsonObject;
  const result: AttributesInput = {
    enabled: optionalBoolean(input.enabled, 'attributes.enabled'),
    nbf: optionalSeconds(input.nbf, 'attributes.nbf'),
    exp: optionalSeconds(input.exp, 'attributes.exp'),
    exportable: optionalBoolean(input.exportable, 'attributes.exportable'),
  };
  if (result.nbf !== undefined && result.exp !== undefined && result.exp <= result.nbf) throw keyVaultErrors.badParameter("Property 'attributes.exp' must be later than 'attributes.nbf'.");
  return result;
}

export function readTags(body: JsonObject): Record<string, string> | undefined {
  const tags = body.tags;
  if (tags === undefined || tags === null) return undefined;
  if (typeof tags !== 'object' || Array.isArray(tags)) throw keyVaultErrors.badParameter("Property 'tags' must be an object of strings.");
  const entries = Object.entries(tags as JsonObject);
  if (entries.length > MAX_TAGS) throw keyVaultErrors.badParameter(`At most ${MAX_TAGS} tags are allowed.`);
  for (const [name, value] of entries) {
    if (typeof value !== 'string') throw keyVaultErrors.badParameter(`Tag '${name}' must have a string value.`);
    if (name.length > MAX_TAG_NAME || value.length > MAX_TAG_VALUE) throw keyVaultErrors.badParameter(`Tag '${name}' is too long (names ≤ ${MAX_TAG_NAME}, values ≤ ${MAX_TAG_VALUE} characters).`);
  }
  return Object.fromEntries(entries) as Record<string, string>;
}

export function readOptionalString(body: JsonObject, field: string): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw keyVaultErrors.badParameter(`Property '${field}' must be a string.`);
  return value;
}

export function readRequiredString(body: JsonObject, field: string): string {
  const value = readOptionalString(body, field);
  if (value === undefined) throw keyVaultErrors.badParameter(`Property '${field}' is required.`);
  return value;
}

export function readBase64url(body: JsonObject, field: string): Buffer {
  const value = readRequiredString(body, field);
  if (!/^[A-Za-z0-9_-]*={0,2}$/.test(value)) throw keyVaultErrors.badParameter(`Property '${field}' must be base64url encoded.`);
  return Buffer.from(value, 'base64url');
}
