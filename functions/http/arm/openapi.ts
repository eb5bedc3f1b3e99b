/**
 * GET /api/openapi.json — an OpenAPI 3.1 document of every ARM-shaped operation, built from what
 * armRoute() registered (each at the root path; the `/api/…` aliases are not listed again): paths and path parameters from the route templates, request bodies from
 * their zod schemas (z.toJSONSchema), responses from each operation's declared codes with the ARM
 * error envelope for 4xx/5xx, and the Azure RBAC action each one performs (`x-kluis-action`, with how the
 * caller is checked in `x-kluis-access`), so a client such as a dashboard knows which role a button needs.
 * Built on request, so it always lists every loaded route.
 */
import { app } from '@azure/functions';
import { z } from 'zod';
import { registeredOperations, type RegisteredOperation } from './route';

/** The Microsoft.RecoveryServices api-version whose shapes Kluis follows (any value is accepted). */
export const FOLLOWED_API_VERSION = '2023-06-01';

type JsonSchema = Record<string, unknown>;

interface OpenApiParameter {
  name: string;
  in: 'path' | 'query';
  required: boolean;
  description?: string;
  schema: JsonSchema;
}

interface OpenApiOperation {
  operationId: string;
  summary: string;
  tags: string[];
  parameters: OpenApiParameter[];
  requestBody?: { required: boolean; content: { 'application/json': { schema: JsonSchema } } };
  responses: Record<string, { description: string; content?: { 'application/json': { schema: JsonSchema } } }>;
  /** The Azure RBAC action the operation performs (what a role must allow), e.g. Microsoft.RecoveryServices/Vaults/read. */
  'x-kluis-action': string;
  /** How the caller is checked: scope (the action at the request's path), filtered (lists), anyRole, signedIn. */
  'x-kluis-access': string;
}

export interface OpenApiDocument {
  openapi: '3.1.0';
  info: { title: string; version: string; description: string };
  servers: Array<{ url: string }>;
  paths: Record<string, Record<string, OpenApiOperation>>;
  components: { schemas: Record<string, JsonSchema> };
}

const ERROR_RESPONSE_REF = { $ref: '#/components/schemas/ErrorResponse' };

const ERROR_RESPONSE_SCHEMA: JsonSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string', description: "Azure Backup's code where Azure has one, else a Kluis code." },
        message: { type: 'string' },
        target: { type: 'string', description: 'The offending field or route parameter.' },
        details: {
          type: 'array',
          items: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' }, target: { type: 'string' } } },
        },
        recommendation: { type: 'string', description: 'What to do about it.' },
      },
    },
  },
};

const API_VERSION_PARAMETER: OpenApiParameter = {
  name: 'api-version',
  in: 'query',
  required: false,
  description: `Accepted with any value; shapes follow Microsoft.RecoveryServices ${FOLLOWED_API_VERSION}.`,
  schema: { type: 'string' },
};

export function buildOpenApiDocument(operations: readonly RegisteredOperation[]): OpenApiDocument {
  const paths: OpenApiDocument['paths'] = {};
  for (const operation of operations) {
    const { path, parameters } = openApiPath(operation.route);
    const entry: OpenApiOperation = {
      operationId: operation.operationId,
      summary: operation.summary,
      tags: [operation.tag],
      parameters: [...parameters, API_VERSION_PARAMETER],
      responses: responsesOf(operation),
      'x-kluis-action': operation.action,
      'x-kluis-access': operation.access,
    };
    if (operation.body !== undefined) {
      entry.requestBody = { required: true, content: { 'application/json': { schema: bodySchema(operation.body) } } };
    }
    paths[path] ??= {};
    paths[path][operation.method.toLowerCase()] = entry;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Kluis',
      version: FOLLOWED_API_VERSION,
      description: 'Self-hostable VM backup with a REST API shaped like Azure Resource Manager Microsoft.RecoveryServices.',
    },
    servers: [{ url: '/' }],
    paths,
    components: { schemas: { ErrorResponse: ERROR_RESPONSE_SCHEMA } },
  };
}

/**
 * `/…/{name}` from a Functions route template, dropping constraints, defaults and the optional and
 * catch-all markers (`{id:int?}` → `{id}`, `{*path}` → `{path}`); each parameter is a required
 * string path parameter.
 */
export function openApiPath(route: string): { path: string; parameters: OpenApiParameter[] } {
  const parameters: OpenApiParameter[] = [];
  const path = route.replace(/\{([^}]+)\}/g, (_segment, inner: string) => {
    const name = inner.replace(/^\*+/, '').split(/[:=?]/)[0];
    parameters.push({ name, in: 'path', required: true, schema: { type: 'string' } });
    return `{${name}}`;
  });
  return { path: `/${path.replace(/^\/+/, '')}`, parameters };
}

function responsesOf(operation: RegisteredOperation): OpenApiOperation['responses'] {
  const responses: OpenApiOperation['responses'] = {};
  for (const [code, description] of Object.entries(operation.responses)) {
    const status = Number(code);
    if (status >= 400) responses[code] = { description, content: { 'application/json': { schema: ERROR_RESPONSE_REF } } };
    else if (status === 204 || status === 202) responses[code] = { description };
    else responses[code] = { description, content: { 'application/json': { schema: { type: 'object' } } } };
  }
  responses.default = { description: 'An error in the ARM envelope.', content: { 'application/json': { schema: ERROR_RESPONSE_REF } } };
  return responses;
}

function bodySchema(schema: z.ZodType): JsonSchema {
  const json = z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const { $schema: _dialect, ...rest } = json;
  return rest;
}

app.http('openapi', {
  route: 'api/openapi.json',
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: async () => ({ status: 200, jsonBody: buildOpenApiDocument(registeredOperations()) }),
});
