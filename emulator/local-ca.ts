/**
 * A local CA and a server certificate it signs (SAN: DNS localhost, IP 127.0.0.1 and ::1), generated
 * at first start with `selfsigned` and kept in a data directory. The one TLS module of the emulators:
 * the Key Vault emulator keeps its own in `<data>/keyvault`, the host's HTTPS port and the identity
 * endpoint share `<data>/tls`.
 *
 *   <dir>/tls.json  CA and server keys and certificates (mode 600; the source of truth)
 *   <dir>/ca.pem    the CA certificate alone: what clients trust (KLUIS_CA_FILE, REQUESTS_CA_BUNDLE, NODE_EXTRA_CA_CERTS)
 *
 * tls.json is created exclusively (write a temp file, then link it into place), so processes starting
 * at once on the same directory all end up with the same CA. A server certificate close to expiry is
 * renewed under the same CA, so a CA a user already trusts stays valid. Nothing is installed in a
 * system trust store: each client is pointed at ca.pem.
 */
import { X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { generate } from 'selfsigned';
import { readTextFile, writeAtomically } from './atomic-file';

export interface TlsMaterial {
  caCertPem: string;
  caCertPath: string;
  serverCertPem: string;
  serverKeyPem: string;
}

interface TlsFile {
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
}

const DAY_IN_MS = 24 * 60 * 60 * 1000;
const CA_LIFETIME_DAYS = 3650;
const SERVER_LIFETIME_DAYS = 825;
const RENEW_BEFORE_DAYS = 30;

export interface TlsMaterialOptions {
  /** The CA certificate's common name, as clients show it. */
  caName?: string;
  /** Default: the system clock. */
  now?: Date;
}

export const DEFAULT_CA_NAME = 'Kluis local CA';

async function generateCa(caName: string, now: Date): Promise<{ cert: string; key: string }> {
  const pems = await generate([{ name: 'commonName', value: caName }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notBeforeDate: new Date(now.getTime() - DAY_IN_MS),
    notAfterDate: new Date(now.getTime() + CA_LIFETIME_DAYS * DAY_IN_MS),
    extensions: [
      { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

async function generateServer(ca: { cert: string; key: string }, now: Date): Promise<{ cert: string; key: string }> {
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notBeforeDate: new Date(now.getTime() - DAY_IN_MS),
    notAfterDate: new Date(now.getTime() + SERVER_LIFETIME_DAYS * DAY_IN_MS),
    ca,
    extensions: [
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }, { type: 7, ip: '::1' }] },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

function validFor(certPem: string, now: Date, days: number): boolean {
  try {
    return Date.parse(new X509Certificate(certPem).validTo) - now.getTime() > days * DAY_IN_MS;
  } catch {
    return false;
  }
}

function serverUsable(file: TlsFile, now: Date): boolean {
  if (!validFor(file.serverCert, now, RENEW_BEFORE_DAYS)) return false;
  const server = new X509Certificate(file.serverCert);
  const ca = new X509Certificate(file.caCert);
  return server.checkIssued(ca) && server.verify(ca.publicKey) && server.checkIP('127.0.0.1') !== undefined && server.checkHost('localhost') !== undefined;
}

function readTlsFile(file: string): TlsFile | undefined {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<TlsFile>;
    if (typeof parsed.caCert !== 'string' || typeof parsed.caKey !== 'string' || typeof parsed.serverCert !== 'string' || typeof parsed.serverKey !== 'string') return undefined;
    return parsed as TlsFile;
  } catch {
    return undefined;
  }
}

/** Reads the CA and server certificate in `dir`, generating or renewing what is missing or expiring. */
export async function ensureTlsMaterial(dir: string, options: TlsMaterialOptions = {}): Promise<TlsMaterial> {
  const now = options.now ?? new Date();
  mkdirSync(dir, { recursive: true });
  const tlsFile = path.join(dir, 'tls.json');
  let file = readTlsFile(tlsFile);
  if (file === undefined || !validFor(file.caCert, now, RENEW_BEFORE_DAYS)) {
    const replacing = file !== undefined;
    const ca = await generateCa(options.caName ?? DEFAULT_CA_NAME, now);
    const server = await generateServer(ca, now);
    const fresh: TlsFile = { caCert: ca.cert, caKey: ca.key, serverCert: server.cert, serverKey: server.key };
    const written = writeAtomically(tlsFile, JSON.stringify(fresh, null, 2), 0o600, !replacing);
    file = written ? fresh : readTlsFile(tlsFile);
    if (file === undefined) throw new Error(`The TLS file ${tlsFile} is unreadable: delete it to have it generated again.`);
  } else if (!serverUsable(file, now)) {
    const server = await generateServer({ cert: file.caCert, key: file.caKey }, now);
    file = { ...file, serverCert: server.cert, serverKey: server.key };
    writeAtomically(tlsFile, JSON.stringify(file, null, 2), 0o600, false);
  }
  const caCertPath = path.join(dir, 'ca.pem');
  if (readTextFile(caCertPath) !== file.caCert) writeAtomically(caCertPath, file.caCert, 0o644, false);
  return { caCertPem: file.caCert, caCertPath, serverCertPem: file.serverCert, serverKeyPem: file.serverKey };
}
