/**
 * The storage `npm start` runs on.
 *
 * - Default: the app's AzureWebJobsStorage; for development storage (the usual case) the Azurite
 *   already listening on the default ports, else a persistent Azurite under `.kluis/azurite` started on
 *   the default ports (10000–10002).
 * - `--data-dir <dir>`: its own persistent Azurite under `<dir>/azurite`.
 * - `--in-memory`: a throwaway Azurite (nothing on disk, a fresh product every start).
 *
 * A persistent Azurite always comes back on the ports it first had (remembered next to its data):
 * the fabric's VMs record their disks' URLs, endpoint included, so a second start must serve the
 * same endpoint for them to be found again.
 */
import { listening } from '../ports';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { readLocalSettings } from '../app-loader';
import { startAzurite, type RunningAzurite } from '../azurite';
import { azuriteExtensions } from '../cli';
import { DEFAULT_AZURITE_ENDPOINTS, parseConnectionString, resolveDevelopmentStorage } from '../connection-string';

export interface DemoStorageOptions {
  appDir: string;
  /** Where Azurite keeps its data (`<dataDir>/azurite`) and its ports (`<dataDir>/azurite-ports.json`). */
  dataDir: string;
  /** Whether dataDir is the default `<appDir>/.kluis`: then the app's setting or a running Azurite is used first. */
  defaultDataDir: boolean;
  inMemory: boolean;
}

export interface DemoStorage {
  connectionString: string;
  /** The Azurite this process started (stop it on exit). */
  azurite?: RunningAzurite;
  /** One line for the user: where the data is. */
  description: string;
}

interface AzuritePorts {
  blobPort: number;
  queuePort: number;
  tablePort: number;
}

const ANY_PORTS: AzuritePorts = { blobPort: 0, queuePort: 0, tablePort: 0 };

export async function startDemoStorage(options: DemoStorageOptions): Promise<DemoStorage> {
  // Absent only in a partial copy of the app: the engine then probes and falls back to checksums.
  const extensions = azuriteExtensions.filter((extension) => extension !== undefined);
  if (options.inMemory) {
    const azurite = await startAzurite({ inMemory: true, extensions });
    return { connectionString: azurite.connectionString, azurite, description: `Azurite started in memory (blob port ${azurite.blobPort}; nothing is kept)` };
  }
  if (options.defaultDataDir) {
    const configured = process.env.AzureWebJobsStorage ?? (await readLocalSettings(options.appDir)).AzureWebJobsStorage ?? 'UseDevelopmentStorage=true';
    if (!/UseDevelopmentStorage=true/i.test(configured)) return { connectionString: configured, description: 'using the storage account in AzureWebJobsStorage' };
    if (await listening(DEFAULT_AZURITE_ENDPOINTS.host, DEFAULT_AZURITE_ENDPOINTS.blobPort)) {
      const connectionString = resolveDevelopmentStorage(configured);
      return { connectionString, description: `using the Azurite already running at ${parseConnectionString(connectionString).BlobEndpoint}` };
    }
  }
  const location = path.join(options.dataDir, 'azurite');
  const portsFile = path.join(options.dataDir, 'azurite-ports.json');
  const saved = await readPorts(portsFile);
  const ports = saved ?? (options.defaultDataDir ? DEFAULT_AZURITE_ENDPOINTS : ANY_PORTS);
  let azurite: RunningAzurite;
  try {
    azurite = await startAzurite({ location, extensions, ...ports });
  } catch (err) {
    if (ports.blobPort === 0) throw err;
    const where = saved ? `the ports its data was created with (${shown(portsFile)})` : 'the default ports';
    throw new Error(
      `Azurite could not start on ${where}: ${ports.blobPort}, ${ports.queuePort}, ${ports.tablePort}. Is another Azurite using them? Stop it and run npm start again.\n${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
  await writeFile(portsFile, `${JSON.stringify({ blobPort: azurite.blobPort, queuePort: azurite.queuePort, tablePort: azurite.tablePort })}\n`);
  return { connectionString: azurite.connectionString, azurite, description: `Azurite started, data in ${shown(location)} (blob port ${azurite.blobPort})` };
}

/** Stops the Azurite this process started (it runs in its own process group, so Ctrl+C did not reach it). */
export async function stopDemoStorage(storage: DemoStorage): Promise<void> {
  await storage.azurite?.stop();
}

async function readPorts(file: string): Promise<AzuritePorts | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const ports = JSON.parse(text) as Partial<AzuritePorts>;
    const valid = (port: unknown): port is number => typeof port === 'number' && Number.isInteger(port) && port > 0 && port <= 65535;
    if (valid(ports.blobPort) && valid(ports.queuePort) && valid(ports.tablePort)) return { blobPort: ports.blobPort, queuePort: ports.queuePort, tablePort: ports.tablePort };
  } catch {
    // A damaged file: start on fresh ports and write it again.
  }
  return undefined;
}


/** A path relative to the current directory when it is inside it. */
export function shown(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}
