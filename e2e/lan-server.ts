import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import type { ChildProcess } from 'node:child_process'

/** Ports of the LAN-mode server in the test's private namespace (nothing else binds there). */
export const LAN_PORTS = { http: 18080, https: 18443, relay: 19090, wss: 19443 } as const

/**
 * `npm start -- --lan` as a real child process (relay/start.ts), serving one LAN address with
 * its state (CA, certificates, relay key) in `stateDir`; `stop()` and `start()` again restart
 * the relay and the servers on the same ports with the same identity.
 */
export class LanServer {
  readonly host: string
  readonly stateDir: string
  output = ''
  #child?: ChildProcess

  readonly #onlyHost: boolean

  /** `onlyHost`: serve `host` alone (LIGHTCAFE_LAN_HOSTS); false: every address of the namespace, as a host with several interfaces. */
  constructor (host: string, stateDir: string, onlyHost = true) { this.host = host; this.stateDir = stateDir; this.#onlyHost = onlyHost }

  get httpsOrigin (): string { return `https://${this.host}:${LAN_PORTS.https}` }
  get setupOrigin (): string { return `http://${this.host}:${LAN_PORTS.http}` }

  async start (timeoutMs = 30_000): Promise<void> {
    const child = spawn(process.execPath, ['--import', 'tsx', 'relay/start.ts', '--lan'], {
      env: {
        ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'LIGHTCAFE_LAN_HOSTS' && k !== 'LIGHTCAFE_LAN_ADDRESS')),
        PORT: String(LAN_PORTS.http),
        HTTPS_PORT: String(LAN_PORTS.https),
        RELAY_PORT: String(LAN_PORTS.relay),
        WSS_PORT: String(LAN_PORTS.wss),
        ...(this.#onlyHost ? { LIGHTCAFE_LAN_HOSTS: this.host } : {}),
        LIGHTCAFE_STATE_DIR: this.stateDir
      },
      stdio: ['ignore', 'pipe', 'inherit']
    })
    this.#child = child
    const lines = createInterface({ input: child.stdout! })
    this.output = ''
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`LAN server did not start in time:\n${this.output}`)) }, timeoutMs)
      child.once('exit', code => { clearTimeout(timer); reject(new Error(`LAN server exited with ${code}:\n${this.output}`)) })
      lines.on('line', line => {
        this.output += line + '\n'
        if (line.startsWith('Lightcafe is running at ')) { clearTimeout(timer); resolve() }
      })
    })
  }

  async stop (): Promise<void> {
    const child = this.#child
    if (child == null || child.exitCode != null || child.signalCode != null) return
    const exited = new Promise<void>(resolve => child.once('exit', () => resolve()))
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 8_000)
    await exited
    clearTimeout(timer)
  }
}
