import { createHash, createHmac, randomBytes } from 'node:crypto'
import { createSocket } from 'node:dgram'

/**
 * Just enough of STUN (RFC 5389) and TURN (RFC 5766) over UDP to check a server: a Binding
 * (it answers) and an authenticated Allocate (it knows our shared secret, so it is ours and not
 * another server on the same port). Messages are bounded by UDP; every exchange by a deadline.
 */

const MAGIC_COOKIE = 0x2112a442
const METHOD = { binding: 0x0001, allocate: 0x0003, refresh: 0x0004 } as const
const CLASS = { request: 0x0000, success: 0x0100, error: 0x0110 } as const
const ATTR = {
  relayedXor: 0x0016,
  mappedXor: 0x0020,
  username: 0x0006,
  integrity: 0x0008,
  errorCode: 0x0009,
  lifetime: 0x000d,
  realm: 0x0014,
  nonce: 0x0015,
  requestedTransport: 0x0019
} as const

type Attrs = Array<[number, Buffer]>

function encode (type: number, id: Buffer, attrs: Attrs, integrityKey?: Buffer): Buffer {
  const parts: Buffer[] = []
  for (const [t, value] of attrs) {
    const head = Buffer.alloc(4)
    head.writeUInt16BE(t, 0)
    head.writeUInt16BE(value.length, 2)
    parts.push(head, value, Buffer.alloc((4 - (value.length % 4)) % 4))
  }
  const body = Buffer.concat(parts)
  const header = Buffer.alloc(20)
  header.writeUInt16BE(type, 0)
  header.writeUInt32BE(MAGIC_COOKIE, 4)
  id.copy(header, 8)
  if (integrityKey == null) {
    header.writeUInt16BE(body.length, 2)
    return Buffer.concat([header, body])
  }
  // MESSAGE-INTEGRITY covers everything before it, with the length already counting it (24 bytes).
  header.writeUInt16BE(body.length + 24, 2)
  const mac = createHmac('sha1', integrityKey).update(Buffer.concat([header, body])).digest()
  const attr = Buffer.alloc(4)
  attr.writeUInt16BE(ATTR.integrity, 0)
  attr.writeUInt16BE(20, 2)
  return Buffer.concat([header, body, attr, mac])
}

interface Decoded { type: number, attrs: Map<number, Buffer> }

function decode (msg: Buffer, id: Buffer): Decoded | undefined {
  if (msg.length < 20 || msg.readUInt32BE(4) !== MAGIC_COOKIE || !msg.subarray(8, 20).equals(id)) return undefined
  const attrs = new Map<number, Buffer>()
  const end = Math.min(msg.length, 20 + msg.readUInt16BE(2))
  for (let at = 20; at + 4 <= end;) {
    const type = msg.readUInt16BE(at)
    const len = msg.readUInt16BE(at + 2)
    if (at + 4 + len > end) break
    if (!attrs.has(type)) attrs.set(type, msg.subarray(at + 4, at + 4 + len))
    at += 4 + len + ((4 - (len % 4)) % 4)
  }
  return { type: msg.readUInt16BE(0), attrs }
}

/** Sends `request` until an answer to its transaction comes or `timeoutMs` passes (a retransmit every 250 ms). */
async function exchange (host: string, port: number, build: (id: Buffer) => Buffer, timeoutMs: number): Promise<Decoded> {
  const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4')
  return exchangeOn(socket, host, port, build, timeoutMs).finally(() => { socket.close() })
}

async function exchangeOn (socket: ReturnType<typeof createSocket>, host: string, port: number, build: (id: Buffer) => Buffer, timeoutMs: number): Promise<Decoded> {
  const id = randomBytes(12)
  const request = build(id)
  return new Promise((resolve, reject) => {
    const again = setInterval(() => { socket.send(request, port, host) }, 250)
    const done = (): void => { clearInterval(again); clearTimeout(deadline); socket.off('message', onMessage); socket.off('error', onError) }
    const deadline = setTimeout(() => { done(); reject(new Error(`no STUN answer from ${host}:${port} within ${timeoutMs} ms`)) }, timeoutMs)
    const onError = (err: Error): void => { done(); reject(err) }
    const onMessage = (msg: Buffer): void => {
      const answer = decode(msg, id)
      if (answer == null) return
      done()
      resolve(answer)
    }
    socket.on('message', onMessage)
    socket.on('error', onError)
    socket.send(request, port, host)
  })
}

function xorAddress (value: Buffer | undefined): { address: string, port: number } | undefined {
  if (value == null || value.length < 8 || value[1] !== 0x01) return undefined
  const port = value.readUInt16BE(2) ^ (MAGIC_COOKIE >>> 16)
  const raw = value.readUInt32BE(4) ^ MAGIC_COOKIE
  return { address: [raw >>> 24, (raw >>> 16) & 255, (raw >>> 8) & 255, raw & 255].join('.'), port }
}

function errorOf (answer: Decoded): string {
  const e = answer.attrs.get(ATTR.errorCode)
  if (e == null || e.length < 4) return 'an error without a code'
  return `${(e[2] & 7) * 100 + e[3]} ${e.subarray(4).toString('utf8')}`.trim()
}

/**
 * Sends STUN Binding Requests to `host:port` until one is answered: the server is up. Resolves
 * with the mapped address it saw (IPv4), i.e. this host's address as the server sees it.
 */
export async function stunProbe (host: string, port: number, timeoutMs = 10_000): Promise<{ address: string, port: number }> {
  const answer = await exchange(host, port, id => encode(METHOD.binding | CLASS.request, id, []), timeoutMs)
  const mapped = answer.type === (METHOD.binding | CLASS.success) ? xorAddress(answer.attrs.get(ATTR.mappedXor)) : undefined
  if (mapped == null) throw new Error(`${host}:${port} answered a STUN binding with ${errorOf(answer)}`)
  return mapped
}

/** A TURN server refused our credential: a server that does not hold our secret answers on that port. */
export class TurnAuthError extends Error {
  override name = 'TurnAuthError'
}

/**
 * Proves a TURN server takes `username`/`password` (long-term credentials, as coturn's
 * shared-secret scheme makes them): an Allocate, answered 401 with a realm and nonce, made
 * again with MESSAGE-INTEGRITY; on success the allocation is released at once (Refresh with
 * lifetime 0). Resolves with the relayed address it gave. Rejects with TurnAuthError when the
 * server refuses the credential.
 */
export async function turnAllocateProbe (host: string, port: number, username: string, password: string, timeoutMs = 10_000): Promise<{ address: string, port: number }> {
  const deadline = Date.now() + timeoutMs
  const left = (): number => Math.max(1, deadline - Date.now())
  const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4')
  try {
    const transport = Buffer.from([17, 0, 0, 0]) // UDP
    const first = await exchangeOn(socket, host, port, id => encode(METHOD.allocate | CLASS.request, id, [[ATTR.requestedTransport, transport]]), left())
    const realm = first.attrs.get(ATTR.realm)
    const nonce = first.attrs.get(ATTR.nonce)
    if (first.type !== (METHOD.allocate | CLASS.error) || realm == null || nonce == null) {
      throw new Error(`${host}:${port} answered an unauthenticated Allocate with ${first.type === (METHOD.allocate | CLASS.success) ? 'success: it asks for no credentials' : errorOf(first)}`)
    }
    const key = createHash('md5').update(`${username}:${realm.toString('utf8')}:${password}`).digest()
    const auth: Attrs = [[ATTR.username, Buffer.from(username)], [ATTR.realm, realm], [ATTR.nonce, nonce]]
    const second = await exchangeOn(socket, host, port, id => encode(METHOD.allocate | CLASS.request, id, [[ATTR.requestedTransport, transport], ...auth], key), left())
    if (second.type !== (METHOD.allocate | CLASS.success)) {
      const why = errorOf(second)
      if (/^4(01|31)\b/.test(why)) throw new TurnAuthError(`${host}:${port} refused our TURN credential (${why}): it is not the server we started (another one holds this port?)`)
      throw new Error(`${host}:${port} refused an authenticated Allocate: ${why}`)
    }
    const relayed = xorAddress(second.attrs.get(ATTR.relayedXor)) ?? { address: '', port: 0 }
    // Released at once: the check must not hold one of the credential's or the server's allocations.
    const lifetime = Buffer.alloc(4)
    await exchangeOn(socket, host, port, id => encode(METHOD.refresh | CLASS.request, id, [[ATTR.lifetime, lifetime], ...auth], key), left()).catch(() => {})
    return relayed
  } finally {
    socket.close()
  }
}
