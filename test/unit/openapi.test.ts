/**
 * The OpenAPI document built from the armRoute registrations of the vault and policy endpoints
 * (with @azure/functions' `app` replaced, so the modules load outside a host).
 */
import { app } from '@azure/functions';
import { buildOpenApiDocument, openApiPath } from '../../functions/http/arm/openapi';
import '../../functions/http/arm/policies';
import { registeredOperations } from '../../functions/http/arm/route';
import '../../functions/http/arm/vaults';

interface Registration {
  name: string;
  route: string;
  methods: string[];
}

// app.http records its registrations instead of reaching for a Functions host.
jest.mock('@azure/functions', () => {
  const actual = jest.requireActual<typeof import('@azure/functions')>('@azure/functions');
  const registrations: Registration[] = [];
  const http = (name: string, options: { route: string; methods: string[] }) => registrations.push({ name, route: options.route, methods: options.methods });
  return { ...actual, app: { ...actual.app, http, registrations } };
});
const registered = (app as unknown as { registrations: Registration[] }).registrations;

describe('OpenAPI document', () => {
  it('turns route templates into paths with required string path parameters', () => {
    expect(openApiPath('items/{id:int?}/files/{*path}')).toEqual({
      path: '/items/{id}/files/{path}',
      parameters: [
        { name: 'id', in: 'path', required: true, schema: { type: 'string' } },
        { name: 'path', in: 'path', required: true, schema: { type: 'string' } },
      ],
    });
  });

  it('lists every vault and policy operation once, with api-version, bodies from the zod schemas and the error envelope', () => {
    const doc = buildOpenApiDocument(registeredOperations());
    expect(doc.openapi).toBe('3.1.0');
    const vault = '/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.RecoveryServices/vaults/{vaultName}';
    const expected: Record<string, string[]> = {
      [vault]: ['put', 'get', 'delete'],
      '/subscriptions/{subscriptionId}/providers/Microsoft.RecoveryServices/vaults': ['get'],
      '/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.RecoveryServices/vaults': ['get'],
      [`${vault}/backupstorageconfig/vaultstorageconfig`]: ['get', 'put', 'patch'],
      [`${vault}/backupconfig/vaultconfig`]: ['get', 'put', 'patch'],
      [`${vault}/backupPolicies`]: ['get'],
      [`${vault}/backupPolicies/{policyName}`]: ['put', 'get', 'delete'],
    };
    for (const [path, methods] of Object.entries(expected)) {
      expect(Object.keys(doc.paths[path] ?? {}).sort()).toEqual([...methods].sort());
    }

    const putPolicy = doc.paths[`${vault}/backupPolicies/{policyName}`].put;
    expect(putPolicy.operationId).toBe('ProtectionPolicies_CreateOrUpdate');
    expect(putPolicy.parameters.map((p) => `${p.in}:${p.name}`)).toEqual([
      'path:subscriptionId',
      'path:resourceGroupName',
      'path:vaultName',
      'path:policyName',
      'query:api-version',
    ]);
    const body = putPolicy.requestBody?.content['application/json'].schema as { required: string[]; properties: Record<string, { properties: Record<string, unknown> }> };
    expect(body.required).toEqual(['properties']);
    expect(Object.keys(body.properties.properties.properties)).toEqual(expect.arrayContaining(['schedulePolicy', 'retentionPolicy', 'timeZone']));
    expect(body).not.toHaveProperty('$schema');
    expect(putPolicy.responses['400'].content?.['application/json'].schema).toEqual({ $ref: '#/components/schemas/ErrorResponse' });
    expect(doc.components.schemas.ErrorResponse).toBeDefined();

    const vaultConfig = doc.paths[`${vault}/backupconfig/vaultconfig`].patch.requestBody?.content['application/json'].schema as {
      properties: { properties: { properties: Record<string, unknown> } };
    };
    expect(vaultConfig.properties.properties.properties.softDeleteRetentionPeriodInDays).toMatchObject({ type: 'integer', minimum: 14, maximum: 180 });
    expect(doc.paths[vault].get.requestBody).toBeUndefined();
  });

  it('registers each operation at the root path and at its /api alias under unique names, and the document route under /api', () => {
    const names = registered.map((r) => r.name);
    expect(new Set(names).size).toBe(names.length);
    expect(registered).toContainEqual({ name: 'openapi', route: 'api/openapi.json', methods: ['GET'] });
    expect(names).toEqual(expect.arrayContaining(['Vaults_CreateOrUpdate', 'BackupResourceStorageConfigs_Patch', 'ProtectionPolicies_Delete']));
    for (const operation of registeredOperations()) {
      expect(registered).toContainEqual({ name: operation.operationId, route: operation.route, methods: [operation.method] });
      expect(registered).toContainEqual({ name: `${operation.operationId}__api`, route: `api/${operation.route}`, methods: [operation.method] });
    }
    expect(Object.keys(buildOpenApiDocument(registeredOperations()).paths).every((p) => p.startsWith('/subscriptions/'))).toBe(true);
  });
});
