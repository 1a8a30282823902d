import type { AddressInfo } from 'node:net'
import { createGuardedServer } from '../http-guard.ts'
import { setupResponse } from './setup-page.ts'
import type { SetupContext } from './setup-page.ts'

export interface SetupServer { url: string, stop(): Promise<void> }

/** The plain-HTTP listener on one LAN address: setup page and CA files only (see setupResponse). */
export async function startSetupServer (init: { host: string, port: number, context: SetupContext }): Promise<SetupServer> {
  // Slow clients cannot hold the listener: the page is small.
  const server = createGuardedServer((req, res, { url }) => {
    const { status, headers, body } = setupResponse(req.method ?? 'GET', url, init.context)
    res.writeHead(status, { ...headers, 'content-length': String(Buffer.byteLength(body)) })
    res.end(req.method === 'HEAD' ? undefined : body)
  }, { limits: { requestTimeoutMs: 10_000, headersTimeoutMs: 5_000 } })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(init.port, init.host, () => resolve())
  })
  const { port } = server.address() as AddressInfo
  return {
    url: `http://${init.host}:${port}`,
    stop: async () => {
      server.closeAllConnections()
      await new Promise<void>(resolve => server.close(() => resolve()))
    }
  }
}
