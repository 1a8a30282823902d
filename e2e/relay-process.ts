import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import type { ChildProcess } from 'node:child_process'

export interface RelayProcess {
  multiaddrs: string[]
  port: number
  stop(): Promise<void>
}

/** Starts relay/relay-main.ts as a real child process and waits (bounded) for its address line. */
export async function spawnRelay (opts: { port?: number, keyFile: string, timeoutMs?: number }): Promise<RelayProcess> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'relay/relay-main.ts'], {
    env: { ...process.env, RELAY_PORT: String(opts.port ?? 0), RELAY_KEY_FILE: opts.keyFile },
    stdio: ['ignore', 'pipe', 'inherit']
  })
  const lines = createInterface({ input: child.stdout! })
  const multiaddrs = await new Promise<string[]>((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error('relay did not start in time')) }, opts.timeoutMs ?? 20_000)
    child.once('exit', code => { clearTimeout(timer); reject(new Error(`relay exited with ${code}`)) })
    lines.on('line', line => {
      try {
        const { relay } = JSON.parse(line) as { relay: string[] }
        clearTimeout(timer)
        resolve(relay)
      } catch { /* log line, not the address */ }
    })
  })
  const port = Number(/\/tcp\/(\d+)\//.exec(multiaddrs[0])?.[1])
  return {
    multiaddrs,
    port,
    stop: async () => {
      if (child.exitCode != null) return
      const exited = new Promise<void>(resolve => child.once('exit', () => resolve()))
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000)
      await exited
      clearTimeout(timer)
    }
  }
}
