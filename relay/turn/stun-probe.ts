import { randomBytes } from 'node:crypto'
import { createSocket } from 'node:dgram'

const MAGIC_COOKIE = 0x2112a442

/**
 * Sends STUN Binding Requests (RFC 5389) to `host:port` over UDP until one is answered with a
 * Binding Success or `timeoutMs` passes: the STUN/TURN server is up. Resolves with the mapped
 * address it saw (XOR-MAPPED-ADDRESS), i.e. this host's address as the server sees it.
 */
export async function stunProbe (host: string, port: number, timeoutMs = 10_000): Promise<{ address: string, port: number }> {
  const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4')
  const id = randomBytes(12)
  const request = Buffer.alloc(20)
  request.writeUInt16BE(0x0001, 0) // Binding Request
  request.writeUInt16BE(0, 2)
  request.writeUInt32BE(MAGIC_COOKIE, 4)
  id.copy(request, 8)
  try {
    return await new Promise((resolve, reject) => {
      const again = setInterval(() => { send() }, 200)
      const deadline = setTimeout(() => { clearInterval(again); reject(new Error(`no STUN answer from ${host}:${port} within ${timeoutMs} ms`)) }, timeoutMs)
      function send (): void { socket.send(request, port, host) }
      socket.on('error', err => { clearTimeout(deadline); clearInterval(again); reject(err) })
      socket.on('message', msg => {
        const mapped = bindingSuccess(msg, id)
        if (mapped == null) return
        clearTimeout(deadline)
        clearInterval(again)
        resolve(mapped)
      })
      send()
    })
  } finally {
    socket.close()
  }
}

/** The XOR-MAPPED-ADDRESS of a Binding Success for transaction `id` (IPv4), or undefined. */
export function bindingSuccess (msg: Buffer, id: Buffer): { address: string, port: number } | undefined {
  if (msg.length < 20 || msg.readUInt16BE(0) !== 0x0101 || msg.readUInt32BE(4) !== MAGIC_COOKIE || !msg.subarray(8, 20).equals(id)) return undefined
  const end = Math.min(msg.length, 20 + msg.readUInt16BE(2))
  for (let at = 20; at + 4 <= end;) {
    const type = msg.readUInt16BE(at)
    const len = msg.readUInt16BE(at + 2)
    if (type === 0x0020 && len >= 8 && msg[at + 5] === 0x01) {
      const port = msg.readUInt16BE(at + 6) ^ (MAGIC_COOKIE >>> 16)
      const raw = msg.readUInt32BE(at + 8) ^ MAGIC_COOKIE
      return { address: [raw >>> 24, (raw >>> 16) & 255, (raw >>> 8) & 255, raw & 255].join('.'), port }
    }
    at += 4 + len + ((4 - (len % 4)) % 4)
  }
  return undefined
}
