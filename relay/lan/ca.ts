import { webcrypto } from 'node:crypto'
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises'
import { hostname } from 'node:os'
import { join } from 'node:path'
// @peculiar/x509's dependency injection needs the Reflect metadata API, loaded once before it.
import 'reflect-metadata'
import * as x509 from '@peculiar/x509'
import { AsnConvert } from '@peculiar/asn1-schema'
import { GeneralName, GeneralSubtree, GeneralSubtrees, NameConstraints, id_ce_nameConstraints } from '@peculiar/asn1-x509'
import { LightcafeError } from '../../src/shared/errors.ts'
import { isPrivate } from './addresses.ts'

x509.cryptoProvider.set(webcrypto as unknown as Crypto)

/** ECDSA P-256 with SHA-256: taken by every platform we target (Android, iOS, desktop browsers). */
export const KEY_ALG = { name: 'ECDSA', namedCurve: 'P-256' } as const
export const SIGN_ALG = { name: 'ECDSA', hash: 'SHA-256' } as const
const DAY = 86_400_000
/** Long-lived: a CA re-created means every device installs it again. */
export const CA_VALIDITY_DAYS = 10 * 365

/**
 * What the CA may sign for: private, shared (CGNAT, as Tailscale uses) and loopback IPv4
 * ranges, `*.local` and `localhost`. A device that installs the CA then trusts it for these
 * names only, so its key, if stolen, cannot impersonate any public site to that device.
 */
export const PERMITTED_RANGES = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '127.0.0.0/8'] as const
export const PERMITTED_DNS = ['local', 'localhost'] as const

function nameConstraints (extraIps: string[]): x509.Extension {
  const outside = extraIps.filter(ip => !isPrivate(ip) && !ip.startsWith('127.') && !inCgnat(ip))
  const subtrees = [
    ...PERMITTED_DNS.map(dNSName => new GeneralSubtree({ base: new GeneralName({ dNSName }) })),
    ...[...PERMITTED_RANGES, ...outside.map(ip => `${ip}/32`)].map(iPAddress => new GeneralSubtree({ base: new GeneralName({ iPAddress }) }))
  ]
  // RFC 5280: name constraints are critical.
  return new x509.Extension(id_ce_nameConstraints, true, AsnConvert.serialize(new NameConstraints({ permittedSubtrees: new GeneralSubtrees(subtrees) })))
}

function inCgnat (ip: string): boolean {
  const [a, b] = ip.split('.').map(Number)
  return a === 100 && b >= 64 && b <= 127
}

/** The CA's files are unreadable or do not belong together (a key for another certificate). */
export class LocalCaError extends LightcafeError {
  static override name = 'LocalCaError'
  override name = 'LocalCaError'
  constructor (reason: 'CA_UNREADABLE' | 'CA_KEY_MISMATCH', details: string) { super(reason, details) }
}

export interface LocalCa {
  cert: x509.X509Certificate
  key: CryptoKey
  pem: string
  der: Uint8Array
  /** SHA-256 of the DER certificate, upper-case hex pairs joined by colons (as platforms show it). */
  fingerprint: string
  /** Where the private key lives (mode 0600; never under a served directory). */
  keyFile: string
  certFile: string
  created: boolean
}

export async function importKey (pem: string): Promise<CryptoKey> {
  return webcrypto.subtle.importKey('pkcs8', x509.PemConverter.decodeFirst(pem), KEY_ALG, true, ['sign']) as Promise<CryptoKey>
}

export async function exportKey (key: CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', key as webcrypto.CryptoKey), 'PRIVATE KEY')
}

/** Writes a private key readable by its owner only (the mode is set again in case the file existed). */
export async function writeSecret (file: string, text: string): Promise<void> {
  await writeFile(file, text, { mode: 0o600 })
  await chmod(file, 0o600)
}

async function fingerprintOf (cert: x509.X509Certificate): Promise<string> {
  const hash = new Uint8Array(await cert.getThumbprint('SHA-256'))
  return [...hash].map(b => b.toString(16).padStart(2, '0').toUpperCase()).join(':')
}

async function describe (cert: x509.X509Certificate, key: CryptoKey, dir: string, created: boolean): Promise<LocalCa> {
  const der = new Uint8Array(cert.rawData)
  return { cert, key, pem: cert.toString('pem') + '\n', der, fingerprint: await fingerprintOf(cert), keyFile: join(dir, 'ca.key'), certFile: join(dir, 'ca.pem'), created }
}

/**
 * The local CA under `dir` (`.lightcafe/tls` by default in `npm start -- --lan`): loaded when
 * it exists, created once otherwise. Devices install its certificate once; the server
 * certificates it signs can then change with the LAN addresses without asking them again.
 * A new CA is constrained to PERMITTED_RANGES and PERMITTED_DNS, plus each of `lanIps`
 * outside them (a LAN on public addresses) as itself.
 */
export async function loadOrCreateCa (dir: string, now = new Date(), lanIps: string[] = []): Promise<LocalCa> {
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const keyFile = join(dir, 'ca.key')
  const certFile = join(dir, 'ca.pem')
  const [keyPem, certPem] = await Promise.all([readFile(keyFile, 'utf8').catch(nothing), readFile(certFile, 'utf8').catch(nothing)])
  if (keyPem != null && certPem != null) {
    let cert: x509.X509Certificate, key: CryptoKey
    try {
      cert = new x509.X509Certificate(certPem)
      key = await importKey(keyPem)
    } catch (err) {
      throw new LocalCaError('CA_UNREADABLE', `cannot read the local CA in ${dir}: ${(err as Error).message}`)
    }
    if (!await keyMatches(cert, key)) throw new LocalCaError('CA_KEY_MISMATCH', `${keyFile} is not the key of ${certFile}`)
    await chmod(keyFile, 0o600)
    return describe(cert, key, dir, false)
  }
  const keys = await webcrypto.subtle.generateKey(KEY_ALG, true, ['sign', 'verify']) as CryptoKeyPair
  const name = `CN=Lightcafe local CA (${hostname().split('.')[0]}), O=Lightcafe`
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name,
    notBefore: new Date(now.getTime() - DAY),
    notAfter: new Date(now.getTime() + CA_VALIDITY_DAYS * DAY),
    signingAlgorithm: SIGN_ALG,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      nameConstraints(lanIps),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey)
    ]
  })
  // Key first: a certificate without its key would be unusable on the next start.
  await writeSecret(keyFile, await exportKey(keys.privateKey))
  await writeFile(certFile, cert.toString('pem') + '\n')
  return describe(cert, keys.privateKey, dir, true)
}

/** Positive, 16 random bytes: unique per certificate as RFC 5280 asks. */
export function randomSerial (): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16))
  bytes[0] &= 0x7f
  bytes[0] |= 0x01
  return [...bytes].map(b => b.toString(16).padStart(2, '0')).join('')
}

async function keyMatches (cert: x509.X509Certificate, key: CryptoKey): Promise<boolean> {
  const probe = new TextEncoder().encode('lightcafe-ca-probe')
  const sig = await webcrypto.subtle.sign(SIGN_ALG, key as webcrypto.CryptoKey, probe)
  const pub = await cert.publicKey.export(KEY_ALG, ['verify'], webcrypto as unknown as Crypto)
  return webcrypto.subtle.verify(SIGN_ALG, pub as webcrypto.CryptoKey, sig, probe)
}

function nothing (err: NodeJS.ErrnoException): undefined {
  if (err.code === 'ENOENT') return undefined
  throw err
}
