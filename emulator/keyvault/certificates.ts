/**
 * The emulator's TLS material: a local CA and a server certificate it signs (SAN: DNS localhost, IP
 * 127.0.0.1 and ::1), generated at first start with `selfsigned` and kept in the data directory:
 *
 *   <dir>/tls.json  CA and server keys and certificates (mode 600; the source of truth)
 *   <dir>/ca.pem    the CA certificate alone: what clients trust (KLUIS_KEYVAULT_CA_FILE, NODE_EXTRA_CA_CERTS)
 *
 * tls.json is created exclusively (write a temp file, then link it into place), so processes starting
 * at once on the same directory all end up with the same CA. A server certificate close to expiry is
 * renewed under the same CA, so a CA a user already trusts stays valid.
 */
import { randomBytes, X509Certificate } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { generate } from 'selfsigned';

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

async function generateCa(now: Date): Promise<{ cert: string; key: string }> {
  const pems = await generate([{ name: 'commonName', value: 'Kluis Key Vault emulator local CA' }], {
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

/** Writes `content` to `file`: exclusively (false when another process was first) or replacing it. */
function writeAtomically(file: string, content: string, mode: number, exclusive: boolean): boolean {
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(temp, content, { mode });
  try {
    if (!exclusive) {
      renameSync(temp, file);
      return true;
    }
    linkSync(temp, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    rmSync(temp, { force: true });
  }
}

/** Reads the CA and server certificate in `dir`, generating or renewing what is missing or expiring. */
export async function ensureTlsMaterial(dir: string, now: Date = new Date()): Promise<TlsMaterial> {
  mkdirSync(dir, { recursive: true });
  const tlsFile = path.join(dir, 'tls.json');
  let file = readTlsFile(tlsFile);
  if (file === undefined || !validFor(file.caCert, now, RENEW_BEFORE_DAYS)) {
    const replacing = file !== undefined;
    const ca = await generateCa(now);
    const server = await generateServer(ca, now);
    const fresh: TlsFile = { caCert: ca.cert, caKey: ca.key, serverCert: server.cert, serverKey: server.key };
    const written = writeAtomically(tlsFile, JSON.stringify(fresh, null, 2), 0o600, !replacing);
    file = written ? fresh : readTlsFile(tlsFile);
    if (file === undefined) throw new Error(`The Key Vault emulator's TLS file ${tlsFile} is unreadable: delete it to have it generated again.`);
  } else if (!serverUsable(file, now)) {
    const server = await generateServer({ cert: file.caCert, key: file.caKey }, now);
    file = { ...file, serverCert: server.cert, serverKey: server.key };
    writeAtomically(tlsFile, JSON.stringify(file, null, 2), 0o600, false);
  }
  const caCertPath = path.join(dir, 'ca.pem');
  let current: string | undefined;
  try {
    current = readFileSync(caCertPath, 'utf8');
  } catch {
    current = undefined;
  }
  if (current !== file.caCert) writeAtomically(caCertPath, file.caCert, 0o644, false);
  return { caCertPem: file.caCert, caCertPath, serverCertPem: file.serverCert, serverKeyPem: file.serverKey };
}
