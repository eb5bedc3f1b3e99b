/**
 * deploy/k8s: the manifests for running Kluis on a cluster with KEDA and the Durable MSSQL provider.
 * Nothing here runs a cluster: each document is parsed with `yaml` and validated against the Kubernetes
 * and KEDA schemas that kubernetes-models and @kubernetes-models/keda ship; then the rules of this
 * deployment (secrets by reference, non-root, the scaler matching host.json, settings lib/config accepts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Service } from 'kubernetes-models/v1/Service';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject';
import { TriggerAuthentication } from '@kubernetes-models/keda/keda.sh/v1alpha1/TriggerAuthentication';
import { IDENTITY_CONNECTION_SETTINGS, SETTING_NAMES, loadConfig } from '../../lib/config';

const ROOT = path.resolve(__dirname, '..', '..');
const K8S = path.join(ROOT, 'deploy', 'k8s');
type Manifest = { apiVersion: string; kind: string; metadata: { name: string }; [key: string]: unknown };

const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'keda.sh/v1alpha1/ScaledObject': ScaledObject,
  'keda.sh/v1alpha1/TriggerAuthentication': TriggerAuthentication,
};

function manifests(): Manifest[] {
  return fs
    .readdirSync(K8S)
    .filter((file) => file.endsWith('.yaml'))
    .sort()
    .flatMap((file) =>
      parseAllDocuments(fs.readFileSync(path.join(K8S, file), 'utf8')).map((document) => {
        if (document.errors.length > 0) throw new Error(`${file}: ${document.errors[0].message}`);
        return document.toJS() as Manifest;
      }),
    );
}

/** Schema errors of one manifest (its kind must be one this deployment uses). */
function schemaErrors(manifest: Manifest): string[] {
  const Model = MODELS[`${manifest.apiVersion}/${manifest.kind}`];
  if (Model === undefined) return [`${manifest.apiVersion} ${manifest.kind} is not a kind deploy/k8s uses`];
  try {
    new Model(manifest as never).validate();
    return [];
  } catch (err) {
    return [`${manifest.kind} ${manifest.metadata?.name}: ${(err as Error).message}`];
  }
}

const byKind = (all: Manifest[], kind: string) => all.filter((manifest) => manifest.kind === kind);

interface Container {
  name: string;
  image: string;
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
  envFrom?: { configMapRef?: { name: string } }[];
  securityContext?: { allowPrivilegeEscalation?: boolean };
  resources?: { limits?: { memory?: string } };
}
type DeploymentManifest = Manifest & { spec: { template: { spec: { securityContext?: { runAsNonRoot?: boolean }; containers: Container[] } } } };

/** Secrets only by reference, no literal credentials, a pinned image, non-root, memory bounded. */
function deploymentViolations(all: Manifest[]): string[] {
  const violations: string[] = [];
  for (const deployment of byKind(all, 'Deployment') as DeploymentManifest[]) {
    const pod = deployment.spec.template.spec;
    if (pod.securityContext?.runAsNonRoot !== true) violations.push(`${deployment.metadata.name}: not runAsNonRoot`);
    for (const container of pod.containers) {
      if (!/:[\w.-]+$/.test(container.image) || container.image.endsWith(':latest')) violations.push(`${container.name}: image ${container.image} has no pinned tag`);
      if (container.securityContext?.allowPrivilegeEscalation !== false) violations.push(`${container.name}: privilege escalation allowed`);
      if (container.resources?.limits?.memory === undefined) violations.push(`${container.name}: no memory limit`);
      for (const variable of container.env ?? []) {
        if (/connection|password|secret|key|token/i.test(variable.name) && variable.valueFrom?.secretKeyRef === undefined) violations.push(`${container.name}: ${variable.name} is not from a Secret`);
      }
    }
  }
  for (const configMap of byKind(all, 'ConfigMap') as (Manifest & { data: Record<string, string> })[]) {
    for (const [name, value] of Object.entries(configMap.data)) {
      if (/AccountKey=|SharedAccessSignature=|Password=|pwd=/i.test(value)) violations.push(`ConfigMap ${configMap.metadata.name}: ${name} holds a credential`);
    }
  }
  if (byKind(all, 'Secret').length > 0) violations.push('a Secret is committed (create it in the cluster; docs/deploy.md)');
  return violations;
}

describe('deploy/k8s', () => {
  const all = manifests();

  it('every document is a Kubernetes or KEDA object valid against its published schema', () => {
    expect(all.map((manifest) => manifest.kind).sort()).toEqual(['ConfigMap', 'Deployment', 'ScaledObject', 'Service', 'TriggerAuthentication']);
    expect(all.flatMap(schemaErrors)).toEqual([]);
  });

  it('the schema check sees a container without a name, a replica count that is not a number, and a ScaledObject without a target', () => {
    const deployment = structuredClone(byKind(all, 'Deployment')[0]) as DeploymentManifest;
    delete (deployment.spec.template.spec.containers[0] as Partial<Container>).name;
    expect(schemaErrors(deployment)).toHaveLength(1);
    const replicas = structuredClone(byKind(all, 'Deployment')[0]) as Manifest & { spec: { replicas: unknown } };
    replicas.spec.replicas = 'one';
    expect(schemaErrors(replicas)).toHaveLength(1);
    const scaled = structuredClone(byKind(all, 'ScaledObject')[0]) as Manifest & { spec: Record<string, unknown> };
    delete scaled.spec.scaleTargetRef;
    expect(schemaErrors(scaled)).toHaveLength(1);
  });

  it('secrets only by reference, a pinned image, non-root, no privilege escalation, a memory limit', () => {
    expect(deploymentViolations(all)).toEqual([]);
  });

  it('the rule catches a literal connection string, a committed Secret and a root pod', () => {
    const broken = structuredClone(all);
    const deployment = byKind(broken, 'Deployment')[0] as DeploymentManifest;
    deployment.spec.template.spec.containers[0].env = [{ name: 'SQLDB_Connection', value: 'Server=sql;Database=kluis;User Id=sa;Password=hunter2' }];
    deployment.spec.template.spec.securityContext = {};
    broken.push({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'kluis-sql' } });
    expect(deploymentViolations(broken)).toEqual(['kluis: not runAsNonRoot', 'kluis: SQLDB_Connection is not from a Secret', 'a Secret is committed (create it in the cluster; docs/deploy.md)']);
  });

  it('KEDA scales the Deployment with the mssql scaler on the task hub\'s recommendation for host.json\'s concurrency, authenticated from the app\'s Secret', () => {
    const scaled = byKind(all, 'ScaledObject')[0] as Manifest & {
      spec: { scaleTargetRef: { name: string }; minReplicaCount: number; triggers: { type: string; metadata: Record<string, string>; authenticationRef: { name: string } }[] };
    };
    const deployment = byKind(all, 'Deployment')[0] as DeploymentManifest;
    expect(scaled.spec.scaleTargetRef.name).toBe(deployment.metadata.name);
    expect(scaled.spec.minReplicaCount).toBeGreaterThanOrEqual(1);
    const [trigger] = scaled.spec.triggers;
    expect(trigger.type).toBe('mssql');
    const durable = (JSON.parse(fs.readFileSync(path.join(ROOT, 'host.json'), 'utf8')) as { extensions: { durableTask: { maxConcurrentOrchestratorFunctions: number; maxConcurrentActivityFunctions: number } } }).extensions.durableTask;
    expect(trigger.metadata.query).toBe(`SELECT dt.GetScaleRecommendation(${durable.maxConcurrentOrchestratorFunctions}, ${durable.maxConcurrentActivityFunctions})`);
    expect(trigger.metadata.targetValue).toBe('1');
    expect(Object.keys(trigger.metadata).filter((key) => /connectionString$|password$/i.test(key))).toEqual([]);
    const auth = byKind(all, 'TriggerAuthentication').find((manifest) => manifest.metadata.name === trigger.authenticationRef.name) as Manifest & {
      spec: { secretTargetRef: { parameter: string; name: string; key: string }[] };
    };
    const appSecret = deployment.spec.template.spec.containers[0].env?.find((variable) => variable.name === 'SQLDB_Connection')?.valueFrom?.secretKeyRef;
    expect(auth.spec.secretTargetRef).toEqual([{ parameter: 'connectionString', name: appSecret?.name, key: appSecret?.key }]);
  });

  it('the settings switch the task hub to MSSQL with the connection the Deployment provides, and are what lib/config reads', () => {
    const configMap = byKind(all, 'ConfigMap')[0] as Manifest & { data: Record<string, string> };
    const deployment = byKind(all, 'Deployment')[0] as DeploymentManifest;
    expect(deployment.spec.template.spec.containers[0].envFrom).toEqual([{ configMapRef: { name: configMap.metadata.name } }]);
    const provider = 'AzureFunctionsJobHost__extensions__durableTask__storageProvider__';
    expect(configMap.data[`${provider}type`]).toBe('mssql');
    expect(deployment.spec.template.spec.containers[0].env?.map((variable) => variable.name)).toContain(configMap.data[`${provider}connectionStringName`]);
    const hostSettings = (name: string) => name.startsWith('AzureFunctionsJobHost__') || name === 'FUNCTIONS_WORKER_RUNTIME';
    const isIdentitySetting = (name: string) => IDENTITY_CONNECTION_SETTINGS.some((setting) => name.toLowerCase().startsWith(`${setting.toLowerCase()}__`));
    expect(Object.keys(configMap.data).filter((name) => !SETTING_NAMES.includes(name) && !isIdentitySetting(name) && !hostSettings(name))).toEqual([]);
    const config = loadConfig(configMap.data);
    expect(config.mode).toBe('cloud');
    expect(config.webJobsStorage).toMatchObject({ kind: 'identity', accountName: configMap.data.AzureWebJobsStorage__accountName, credential: 'managedidentity' });
    expect(config.vaultStorage).toMatchObject({ kind: 'identity', accountName: configMap.data.KLUIS_VAULT_STORAGE__accountName, credential: 'managedidentity' });
  });
});
