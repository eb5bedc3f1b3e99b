/**
 * `node bin/kluis.js check` (npm run check): runs `kluis check` of a vault through Kluis's API (POST
 * `{vault}/check`) and prints the JSON report. Exit code 0: nothing wrong; 1: problems remain; an error
 * (Kluis unreachable, no such vault): 1 with the message on stderr.
 *
 * Where Kluis is and who calls: `--url` and `--token` (any Kluis, e.g. in Azure with an Entra ID token), or the
 * `npm start` data folder (`--data-dir`, default .kluis), whose local CA and managed identity sign the request.
 */
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { rootCertificates } from 'node:tls';
import type { Command } from 'commander';
import { azEnvFiles, type AzEnvInfo } from './az-env';

const ARM_RESOURCE = 'https://management.core.windows.net/';
const API_VERSION = '2023-06-01';
const DEFAULT_SUBSCRIPTION = '00000000-0000-0000-0000-000000000000';

interface CheckOptions {
  vault: string;
  resourceGroup: string;
  subscription: string;
  readData?: boolean;
  repair?: boolean;
  url?: string;
  token?: string;
  dataDir: string;
}

export function registerCheckCommand(program: Command, out: (line: string) => void): void {
  program
    .command('check')
    .description("Checks a vault: every recovery point's catalog row, manifest, replica snapshots, checksums and snapshots, and orphan blobs (exit code 1 when something is wrong).")
    .requiredOption('--vault <name>', 'the vault')
    .requiredOption('-g, --resource-group <name>', "the vault's resource group")
    .option('--subscription <id>', 'the subscription', DEFAULT_SUBSCRIPTION)
    .option('--read-data', 're-read every block of every recovery point and verify its checksum')
    .option('--repair', 'remove orphan blobs and snapshots (nothing else is ever changed)')
    .option('--url <url>', "Kluis's base URL (default: the HTTPS root of the npm start in --data-dir)")
    .option('--token <token>', 'a bearer token for Kluis (default: from the managed identity of the npm start in --data-dir; or KLUIS_TOKEN)')
    .option('--data-dir <dir>', 'the data folder of that npm start', '.kluis')
    .action(async (options: CheckOptions) => {
      const { url, token, ca } = await target(options);
      const path = `subscriptions/${encodeURIComponent(options.subscription)}/resourceGroups/${encodeURIComponent(options.resourceGroup)}/providers/Microsoft.RecoveryServices/vaults/${encodeURIComponent(options.vault)}/check?api-version=${API_VERSION}`;
      const body = JSON.stringify({ properties: { readData: options.readData === true, repair: options.repair === true } });
      const answer = await request(new URL(path, url.endsWith('/') ? url : `${url}/`), { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body, ca });
      if (answer.status !== 200) {
        const error = (safeJson(answer.text) as { error?: { code?: string; message?: string } } | undefined)?.error;
        throw new Error(`the check answered HTTP ${answer.status}${error?.code ? `: ${error.code}: ${error.message ?? ''}` : ''}`);
      }
      out(JSON.stringify(JSON.parse(answer.text), null, 2));
      if ((JSON.parse(answer.text) as { healthy?: unknown }).healthy !== true) process.exitCode = 1;
    });
}

async function target(options: CheckOptions): Promise<{ url: string; token: string; ca?: string }> {
  const token = options.token ?? process.env.KLUIS_TOKEN;
  if (options.url !== undefined && token !== undefined) return { url: options.url, token };
  const info = JSON.parse(readFileSync(azEnvFiles(options.dataDir).info, 'utf8')) as AzEnvInfo;
  const ca = readFileSync(info.caFile, 'utf8');
  if (token !== undefined) return { url: options.url ?? info.armUrl, token, ca };
  const msi = new URL(info.msiEndpoint);
  msi.searchParams.set('resource', ARM_RESOURCE);
  msi.searchParams.set('api-version', '2017-09-01');
  const answer = await request(msi, { method: 'GET', headers: { secret: info.msiSecret }, ca });
  const issued = safeJson(answer.text) as { access_token?: string } | undefined;
  if (answer.status !== 200 || issued?.access_token === undefined) throw new Error(`the local identity endpoint gave no token (HTTP ${answer.status})`);
  return { url: options.url ?? info.armUrl, token: issued.access_token, ca };
}

function request(url: URL, options: { method: string; headers: Record<string, string>; body?: string; ca?: string }): Promise<{ status: number; text: string }> {
  // Plain HTTP (curl's port, or a Kluis behind a gateway that terminates TLS): fetch; HTTPS: trust the given CA for this request only.
  if (url.protocol !== 'https:') return fetch(url, { method: options.method, headers: options.headers, body: options.body }).then(async (r) => ({ status: r.status, text: await r.text() }));
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method: options.method, headers: options.headers, ...(options.ca === undefined ? {} : { ca: [...rootCertificates, options.ca] }) }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
