import { ICE_LIMITS, ICE_PROTOCOL, iceServersOf, messages } from './protocol.ts'
import type { IceServerEntry } from './protocol.ts'
import type { Libp2p, PeerId } from '@libp2p/interface'

/** Asks a connected relay for ICE servers (its TURN credentials minted for this peer now). */
export async function askIceServers (libp2p: Pick<Libp2p, 'dialProtocol'>, relay: PeerId, signal: AbortSignal = AbortSignal.timeout(ICE_LIMITS.timeoutMs)): Promise<IceServerEntry[]> {
  // Over the open connection to the relay (a relay without the protocol refuses it: no servers).
  const stream = await libp2p.dialProtocol(relay, ICE_PROTOCOL, { signal })
  const io = messages(stream)
  await io.write({ op: 'get' }, { signal })
  const answer = await io.read({ signal }) as { iceServers?: unknown, error?: unknown }
  await stream.close().catch(() => {})
  if (answer?.error != null) throw new Error(`relay ${relay.toString()} refused ICE servers: ${String(answer.error)}`)
  return iceServersOf(answer?.iceServers)
}
