import { webcrypto } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import 'reflect-metadata'
import * as x509 from '@peculiar/x509'
import { KEY_ALG, SIGN_ALG, exportKey, randomSerial, writeSecret } from './ca.ts'
import type { LocalCa } from './ca.ts'
import type { CertNames } from './addresses.ts'

const DAY = 86_400_000
/** Under the 398 days Apple and Chromium allow a TLS server certificate. */
export const SERVER_VALIDITY_DAYS = 397
/** Renewed this long before it expires, so a device never meets an expired certificate. */
export const RENEW_WITHIN_DAYS = 30

export type RenewReason = 'missing' | 'new-name' | 'expiring' | 'other-ca'

export interface ServerCert {
  /** The leaf certificate, PEM. */
  cert: string
  /** Its private key, PKCS#8 PEM (mode 0600 on disk). */
  key: string
  notAfter: Date
  names: CertNames
  /** Why it was issued on this call; undefined when the one on disk was kept. */
  issued?: RenewReason
}

/** The IP and DNS names a certificate's subjectAltName lists. */
export function sanNames (cert: x509.X509Certificate): CertNames {
  const ext = cert.getExtension(x509.SubjectAlternativeNameExtension)
  const names = ext?.names.toJSON() ?? []
  return {
    ips: names.filter(n => n.type === 'ip').map(n => n.value),
    dns: names.filter(n => n.type === 'dns').map(n => n.value.toLowerCase())
  }
}

/** Why the certificate on disk cannot serve `want` any longer, or undefined if it can. */
export async function renewReason (cert: x509.X509Certificate, ca: LocalCa, want: CertNames, now: Date): Promise<RenewReason | undefined> {
  if (cert.issuer !== ca.cert.subject || !await cert.verify({ publicKey: ca.cert.publicKey, signatureOnly: true }, webcrypto as unknown as Crypto)) return 'other-ca'
  const have = sanNames(cert)
  if (want.ips.some(ip => !have.ips.includes(ip)) || want.dns.some(d => !have.dns.includes(d.toLowerCase()))) return 'new-name'
  if (cert.notAfter.getTime() - now.getTime() < RENEW_WITHIN_DAYS * DAY) return 'expiring'
  return undefined
}

/**
 * The server certificate under `dir` for `want`: kept while it still covers every name, was
 * signed by this CA and is not within 30 days of expiry; issued again otherwise (a new LAN
 * address, a renamed host). The new one keeps any names the old one had, so a device that
 * knew the host by an address that is gone for a moment still gets a valid certificate.
 */
export async function ensureServerCert (dir: string, ca: LocalCa, want: CertNames, now = new Date()): Promise<ServerCert> {
  const certFile = join(dir, 'server.pem')
  const keyFile = join(dir, 'server.key')
  const [certPem, keyPem] = await Promise.all([readFile(certFile, 'utf8').catch(() => undefined), readFile(keyFile, 'utf8').catch(() => undefined)])
  let reason: RenewReason = 'missing'
  let keep: CertNames = { ips: [], dns: [] }
  if (certPem != null && keyPem != null) {
    const cert = new x509.X509Certificate(certPem)
    const why = await renewReason(cert, ca, want, now)
    if (why == null) return { cert: certPem, key: keyPem, notAfter: cert.notAfter, names: sanNames(cert) }
    reason = why
    if (why === 'new-name') keep = sanNames(cert)
  }
  const names: CertNames = { ips: [...new Set([...want.ips, ...keep.ips])], dns: [...new Set([...want.dns, ...keep.dns])] }
  const keys = await webcrypto.subtle.generateKey(KEY_ALG, true, ['sign', 'verify']) as CryptoKeyPair
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    // Not a host name: verifiers then never read the CN as one (against the CA's name constraints).
    subject: 'CN=Lightcafe server, O=Lightcafe',
    issuer: ca.cert.subject,
    // An hour back: a phone whose clock runs a little behind still accepts it.
    notBefore: new Date(now.getTime() - 3_600_000),
    notAfter: new Date(now.getTime() + SERVER_VALIDITY_DAYS * DAY),
    signingAlgorithm: SIGN_ALG,
    publicKey: keys.publicKey,
    signingKey: ca.key,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        ...names.dns.map(value => ({ type: 'dns' as const, value })),
        ...names.ips.map(value => ({ type: 'ip' as const, value }))
      ]),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(ca.cert)
    ]
  })
  const pem = cert.toString('pem') + '\n'
  const key = await exportKey(keys.privateKey)
  await writeSecret(keyFile, key)
  await writeFile(certFile, pem)
  return { cert: pem, key, notAfter: cert.notAfter, names, issued: reason }
}
