/**
 * `kluis-fabric`: drives the local VM fabric of a running embedded host over its /fabric/ endpoints.
 *
 *   kluis-fabric vm create --name web01 --os Windows --disks 2 --size-gib 1 [--managed [--sku StandardSSD_LRS]] [--premium] [--stopped]
 *   kluis-fabric vm list [--location westeurope]        kluis-fabric vm show --name web01
 *   kluis-fabric vm write --name web01 --percent 5 [--disk os|<lun>] [--seed s]
 *   kluis-fabric vm clear --name web01 [--disk os|<lun>] [--offset n --length n | --percent p]
 *   kluis-fabric vm start|stop|deallocate|repair|delete --name web01
 *   kluis-fabric vm encrypt --name web01 --key-vault <resource id|name> [--kek-name kek] [--bek-only]
 *   kluis-fabric vm break-agent [--not-ready] | break-vss [--service] | break-fsfreeze | silence-snapshot
 *                | fail-provisioning --name web01
 *
 * Every command takes --host (default $KLUIS_HOST or http://127.0.0.1:7071), --subscription and
 * -g/--resource-group (defaults: the fabric's sample subscription and resource group). It signs in as
 * credentials.ts says (a token or the host key, from the environment or the host's secrets file).
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { FABRIC_DEFAULTS } from './service';
import { fabricCredentialHeaders } from './credentials';

const GIB = 1024 ** 3;
const MIB = 1024 ** 2;
const DEFAULT_HOST = 'http://127.0.0.1:7071';

interface CommonOptions {
  host: string;
  subscription: string;
  resourceGroup: string;
  output: 'json' | 'table';
}

interface VmView {
  name: string;
  resourceGroup: string;
  location: string;
  osType: string;
  powerState: string;
  provisioningState: string;
  agent: { status: string; vss?: string; fsFreeze?: string; snapshotStatus?: string };
  disks: Array<{ kind: string; lun?: number; storageType: string; sizeBytes: number; managedDisk?: { id: string; storageAccountType?: string } }>;
}

export interface FabricCliIo {
  out(line: string): void;
  fetch: typeof fetch;
}

const defaultIo: FabricCliIo = { out: (line) => process.stdout.write(`${line}\n`), fetch: (input, init) => fetch(input, init) };

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('a positive number');
  return n;
}

function wholeNumber(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError('a whole number ≥ 0');
  return n;
}

function diskSelector(value: string): 'os' | 'all' | number {
  if (value === 'os' || value === 'all') return value;
  const lun = Number(value);
  if (!Number.isInteger(lun) || lun < 0) throw new InvalidArgumentError("'os', 'all' or a data disk LUN");
  return lun;
}

/** Disk size from --size-gib / --size-mib, as whole MiB (Azure VHDs are 1 MiB-aligned). */
function diskSizeBytes(options: { sizeGib?: number; sizeMib?: number }): number | undefined {
  if (options.sizeMib !== undefined) return Math.round(options.sizeMib) * MIB;
  if (options.sizeGib !== undefined) return Math.round((options.sizeGib * GIB) / MIB) * MIB;
  return undefined;
}

export async function main(argv: string[], io: FabricCliIo = defaultIo): Promise<void> {
  const program = new Command().name('kluis-fabric').description('Local VM fabric of the Kluis embedded host: VMs with real VHD page blobs.');
  program.exitOverride();
  const vm = program.command('vm').description('create, change and inspect fabric VMs');

  const common = (command: Command, withName = true): Command => {
    if (withName) command.requiredOption('-n, --name <name>', 'VM name');
    return command
      .option('--host <url>', 'the embedded host', process.env.KLUIS_HOST ?? DEFAULT_HOST)
      .option('--subscription <id>', 'subscription id', FABRIC_DEFAULTS.subscriptionId)
      .option('-g, --resource-group <name>', 'resource group', FABRIC_DEFAULTS.resourceGroup)
      .addOption(new Option('-o, --output <format>', 'output format').choices(['json', 'table']).default(withName ? 'json' : 'table'));
  };

  const client = (opts: CommonOptions) => new FabricClient(opts, io);

  common(vm.command('create').description('create a VM with managed disks (--managed) or unmanaged fixed-VHD page-blob disks'))
    .requiredOption('--os <type>', 'Windows or Linux')
    .option('--disks <count>', 'number of disks, the OS disk included', wholeNumber, 1)
    .option('--size-gib <gib>', 'size of each disk in GiB (default 1)', positiveNumber)
    .option('--size-mib <mib>', 'size of each disk in MiB (instead of --size-gib)', positiveNumber)
    .option('--managed', 'managed disks (Microsoft.Compute/disks, served by the fabric\'s Compute endpoint) instead of VHD blobs')
    .addOption(new Option('--sku <sku>', 'managed disk SKU (with --managed; default Standard_LRS, Premium_LRS with --premium)').choices(['Standard_LRS', 'StandardSSD_LRS', 'Premium_LRS']))
    .option('--premium', 'Premium storage disks (default Standard)')
    .option('--stopped', 'create the VM stopped')
    .option('--location <region>', 'region', 'westeurope')
    .option('--vm-size <size>', 'VM size')
    .option('--data-percent <percent>', 'share of each disk written at creation', positiveNumber)
    .option('--seed <seed>', 'seed for the initial data')
    .option('--pre-script <path>', 'Linux pre-snapshot script (application-consistent backups)')
    .option('--post-script <path>', 'Linux post-snapshot script')
    .action(async (opts: CommonOptions & { name: string; os: string; disks: number; sizeGib?: number; sizeMib?: number; managed?: boolean; sku?: string; premium?: boolean; stopped?: boolean; location: string; vmSize?: string; dataPercent?: number; seed?: string; preScript?: string; postScript?: string }) => {
      const os = opts.os.toLowerCase() === 'windows' ? 'Windows' : opts.os.toLowerCase() === 'linux' ? 'Linux' : undefined;
      if (os === undefined) throw new InvalidArgumentError(`--os must be Windows or Linux, got '${opts.os}'`);
      if (opts.disks < 1) throw new InvalidArgumentError('--disks counts the OS disk: at least 1');
      if (opts.sku !== undefined && opts.managed !== true) throw new InvalidArgumentError('--sku applies to managed disks: add --managed');
      const sizeBytes = diskSizeBytes(opts);
      const storageType = opts.premium || opts.sku === 'Premium_LRS' ? 'Premium' : 'Standard';
      const disk = { sizeBytes, storageType, ...(opts.sku === undefined ? {} : { sku: opts.sku }) };
      const body = {
        osType: os,
        location: opts.location,
        ...(opts.vmSize === undefined ? {} : { vmSize: opts.vmSize }),
        powerState: opts.stopped ? 'stopped' : 'running',
        ...(opts.managed === true ? { managedDisks: true } : {}),
        osDisk: disk,
        dataDisks: Array.from({ length: opts.disks - 1 }, (_, lun) => ({ lun, ...disk })),
        ...(opts.preScript === undefined && opts.postScript === undefined ? {} : { agent: { preScript: opts.preScript, postScript: opts.postScript } }),
        initialData: { ...(opts.dataPercent === undefined ? {} : { percent: opts.dataPercent }), ...(opts.seed === undefined ? {} : { seed: opts.seed }) },
      };
      const c = client(opts);
      c.print(await c.send('PUT', c.vmPath(opts.name), body));
    });

  common(vm.command('list').description("list the subscription's VMs"), false)
    .option('--location <region>', 'only VMs in this region')
    .option('--all-groups', 'VMs of every resource group')
    .action(async (opts: CommonOptions & { location?: string; allGroups?: boolean }) => {
      const c = client(opts);
      const base = opts.allGroups ? `/fabric/subscriptions/${enc(opts.subscription)}/virtualMachines` : `${c.groupPath()}/virtualMachines`;
      const query = opts.location === undefined ? '' : `?location=${encodeURIComponent(opts.location)}`;
      const result = (await c.send('GET', `${base}${query}`)) as { value: VmView[] };
      if (opts.output === 'json') return c.print(result);
      io.out(['NAME', 'GROUP', 'LOCATION', 'OS', 'POWER', 'PROVISIONING', 'AGENT', 'DISKS'].join('\t'));
      for (const v of result.value) {
        const faults = [v.agent.vss, v.agent.fsFreeze, v.agent.snapshotStatus].filter((f) => f !== undefined && f !== 'Healthy' && f !== 'Reports');
        const disks = v.disks
          .map((d) => `${d.kind === 'os' ? 'os' : `lun${d.lun}`}:${Math.round(d.sizeBytes / MIB)}MiB${d.storageType === 'Premium' ? ':P' : ''}${d.managedDisk === undefined ? '' : ':managed'}`)
          .join(',');
        io.out([v.name, v.resourceGroup, v.location, v.osType, v.powerState, v.provisioningState, [v.agent.status, ...faults].join('+'), disks].join('\t'));
      }
    });

  common(vm.command('show').description('one VM')).action(async (opts: CommonOptions & { name: string }) => {
    const c = client(opts);
      c.print(await c.send('GET', c.vmPath(opts.name)));
  });

  common(vm.command('write').description('overwrite random blocks of the disks with random data'))
    .requiredOption('--percent <percent>', 'share of each disk to write', positiveNumber)
    .option('--disk <disk>', "'all', 'os' or a data disk LUN", diskSelector, 'all')
    .option('--seed <seed>', 'same seed, same blocks and bytes')
    .action(async (opts: CommonOptions & { name: string; percent: number; disk: string | number; seed?: string }) => {
      const body = { disk: opts.disk, percent: opts.percent, ...(opts.seed === undefined ? {} : { seed: opts.seed }) };
      const c = client(opts);
      c.print(summarizeActivity(await c.send('POST', `${c.vmPath(opts.name)}/writeData`, body)));
    });

  common(vm.command('clear').description('clear pages of the disks (a range, or random blocks)'))
    .option('--disk <disk>', "'all', 'os' or a data disk LUN", diskSelector, 'all')
    .option('--offset <bytes>', 'start of the range (multiple of 512)', wholeNumber)
    .option('--length <bytes>', 'length of the range (multiple of 512; default: to the end of the data)', wholeNumber)
    .option('--percent <percent>', 'clear random blocks covering this share instead', positiveNumber)
    .option('--seed <seed>', 'seed for --percent')
    .action(async (opts: CommonOptions & { name: string; disk: string | number; offset?: number; length?: number; percent?: number; seed?: string }) => {
      const body = Object.fromEntries(Object.entries({ disk: opts.disk, offset: opts.offset, length: opts.length, percent: opts.percent, seed: opts.seed }).filter(([, v]) => v !== undefined));
      const c = client(opts);
      c.print(summarizeActivity(await c.send('POST', `${c.vmPath(opts.name)}/clearData`, body)));
    });

  for (const action of ['start', 'stop', 'deallocate', 'repair'] as const) {
    const description = action === 'repair' ? 'clear every fault: agent Ready, VSS/fsfreeze healthy, provisioning Succeeded' : `${action} the VM`;
    common(vm.command(action).description(description)).action(async (opts: CommonOptions & { name: string }) => {
      const c = client(opts);
      c.print(await c.send('POST', `${c.vmPath(opts.name)}/${action}`));
    });
  }

  const faults: Array<{ command: string; description: string; flag?: [string, string]; body: (flag: boolean) => Record<string, string> }> = [
    { command: 'break-agent', description: 'make the VM agent unavailable', flag: ['--not-ready', 'report Not Ready instead'], body: (f) => ({ agentStatus: f ? 'NotReady' : 'Unavailable' }) },
    { command: 'break-vss', description: 'put a VSS writer in a bad state (Windows)', flag: ['--service', 'break the VSS service instead'], body: (f) => ({ vss: f ? 'ServiceInBadState' : 'WriterInBadState' }) },
    { command: 'break-fsfreeze', description: 'make fsfreeze fail (Linux)', body: () => ({ fsFreeze: 'Fails' }) },
    { command: 'silence-snapshot', description: 'the agent stops reporting snapshot status', body: () => ({ snapshotStatus: 'Silent' }) },
    { command: 'fail-provisioning', description: 'put the VM in the failed provisioning state', body: () => ({ provisioningState: 'Failed' }) },
  ];
  for (const fault of faults) {
    const command = common(vm.command(fault.command).description(fault.description));
    if (fault.flag) command.option(...fault.flag);
    command.action(async (opts: CommonOptions & { name: string; notReady?: boolean; service?: boolean }) => {
      const flag = Boolean(opts.notReady ?? opts.service);
      const c = client(opts);
      c.print(await c.send('POST', `${c.vmPath(opts.name)}/faults`, fault.body(flag)));
    });
  }

  common(vm.command('encrypt').description('Azure Disk Encryption: a BEK secret wrapped by a KEK key in a Key Vault, recorded in the VM'))
    .requiredOption('--key-vault <vault>', "the Key Vault's resource id (with the local Key Vault emulator also its name)")
    .option('--key-vault-url <url>', "the vault's URL, when the fabric cannot look it up")
    .option('--kek-name <name>', 'name of the key encryption key (an existing key is reused)')
    .option('--bek-only', 'a BEK without KEK (Azure Backup refuses to protect such a VM)')
    .action(async (opts: CommonOptions & { name: string; keyVault: string; keyVaultUrl?: string; kekName?: string; bekOnly?: boolean }) => {
      const body = {
        keyVaultId: opts.keyVault,
        ...(opts.keyVaultUrl === undefined ? {} : { keyVaultUrl: opts.keyVaultUrl }),
        ...(opts.kekName === undefined ? {} : { kekName: opts.kekName }),
        ...(opts.bekOnly ? { bekOnly: true } : {}),
      };
      const c = client(opts);
      c.print(await c.send('POST', `${c.vmPath(opts.name)}/encrypt`, body));
    });

  common(vm.command('delete').description('delete the VM and its disk blobs')).action(async (opts: CommonOptions & { name: string }) => {
    await client(opts).send('DELETE', client(opts).vmPath(opts.name));
    io.out(`Deleted ${opts.name}.`);
  });

  await program.parseAsync(argv);
}

class FabricClient {
  constructor(
    private readonly opts: CommonOptions,
    private readonly io: FabricCliIo,
  ) {}

  groupPath(): string {
    return `/fabric/subscriptions/${enc(this.opts.subscription)}/resourceGroups/${enc(this.opts.resourceGroup)}`;
  }

  vmPath(name: string): string {
    return `${this.groupPath()}/virtualMachines/${enc(name)}`;
  }

  async send(method: string, path: string, body?: unknown): Promise<unknown> {
    const url = new URL(path, this.opts.host);
    let response: Response;
    try {
      response = await this.io.fetch(url, {
        method,
        headers: { ...fabricCredentialHeaders(), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      throw new Error(`cannot reach the host at ${this.opts.host} (${err instanceof Error ? err.message : String(err)}); is kluis-host running?`, { cause: err });
    }
    const text = await response.text();
    const parsed = text === '' ? undefined : (JSON.parse(text) as unknown);
    if (!response.ok) {
      const error = (parsed as { error?: { code?: string; message?: string; target?: string; recommendation?: string } } | undefined)?.error;
      const field = error?.target === undefined ? '' : ` (${error.target})`;
      const detail = error ? `${error.code}${field}: ${error.message}${error.recommendation ? `\n  ${error.recommendation}` : ''}` : text;
      throw new Error(`${method} ${url.pathname} answered ${response.status}. ${detail}`);
    }
    return parsed;
  }

  print(value: unknown): void {
    this.io.out(JSON.stringify(value, null, 2));
  }
}

/** Write/clear results list every range; on the command line the counts are enough. */
function summarizeActivity(result: unknown): unknown {
  const r = result as { vm: string; seed?: string; disks: Array<{ name: string; bytes: number; ranges: unknown[] }> };
  return { vm: r.vm, seed: r.seed, disks: r.disks.map((d) => ({ name: d.name, bytes: d.bytes, ranges: d.ranges.length })) };
}

function enc(segment: string): string {
  return encodeURIComponent(segment);
}
