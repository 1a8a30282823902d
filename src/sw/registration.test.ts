import { afterEach, describe, expect, it, vi } from 'vitest'
import { registerServiceWorker } from './registration.ts'

// The page's side of a worker's start against a stand-in for the browser's
// ServiceWorkerContainer that behaves as WebKit was seen to: a registration that never
// finishes, or one whose worker is active but never takes the page.

interface Script {
  /** What each call of register() does, in order. */
  registers: Array<'controls' | 'hangs' | 'hangs, an older worker takes the page' | 'active, never controls' | 'refused'>
  unregisterHangs?: boolean
  /** getRegistration() queued behind the stuck job, as WebKit's can be. */
  getRegistrationHangs?: boolean
}

function worker (state: string): ServiceWorker {
  return { state, postMessage: () => {} } as unknown as ServiceWorker
}

class FakeContainer extends EventTarget {
  controller: ServiceWorker | null = null
  calls: string[] = []
  registration: ServiceWorkerRegistration | undefined
  readonly #script: Script
  #ready: (r: ServiceWorkerRegistration) => void = () => {}
  readonly ready = new Promise<ServiceWorkerRegistration>(resolve => { this.#ready = resolve })
  constructor (script: Script) { super(); this.#script = script }

  async register (): Promise<ServiceWorkerRegistration> {
    const what = this.#script.registers[this.calls.filter(c => c === 'register').length] ?? 'hangs'
    this.calls.push('register')
    if (what === 'refused') throw new TypeError('the script answered 404')
    const hangs = what.startsWith('hangs')
    const reg = {
      installing: hangs ? worker('installing') : null,
      waiting: null,
      active: hangs ? null : worker('activated'),
      unregister: async () => {
        this.calls.push('unregister')
        if (this.#script.unregisterHangs === true) return new Promise<boolean>(() => {})
        this.registration = undefined
        return true
      }
    } as unknown as ServiceWorkerRegistration
    this.registration = reg
    if (what === 'hangs, an older worker takes the page') {
      setTimeout(() => { this.controller = worker('activated'); this.dispatchEvent(new Event('controllerchange')) }, 10)
    }
    if (hangs) return new Promise(() => {})
    this.#ready(reg)
    if (what === 'controls') {
      setTimeout(() => { this.controller = reg.active; this.dispatchEvent(new Event('controllerchange')) }, 10)
    }
    return reg
  }

  async getRegistration (): Promise<ServiceWorkerRegistration | undefined> {
    this.calls.push('getRegistration')
    if (this.#script.getRegistrationHangs === true) return await new Promise(() => {})
    return this.registration
  }
}

const original = Object.getOwnPropertyDescriptor(globalThis, 'navigator')
function install (fake: FakeContainer): void {
  Object.defineProperty(globalThis, 'navigator', { value: { serviceWorker: fake }, configurable: true })
}
afterEach(() => { if (original != null) Object.defineProperty(globalThis, 'navigator', original) })

describe('registerServiceWorker', () => {
  it('resolves once the worker controls the page', async () => {
    const sw = new FakeContainer({ registers: ['controls'] })
    install(sw)
    const r = await registerServiceWorker({ timeoutMs: 2_000, stallMs: 500 })
    expect(r.retried).toBe(false)
    expect(sw.calls).toEqual(['register'])
  })

  it('a worker active but never taking the page: unregistered, and a second registration takes it', async () => {
    const sw = new FakeContainer({ registers: ['active, never controls', 'controls'] })
    install(sw)
    const r = await registerServiceWorker({ timeoutMs: 3_000, stallMs: 200 })
    expect(r.retried).toBe(true)
    expect(sw.calls).toEqual(['register', 'unregister', 'register'])
  })

  it('a register() that never returns is under the time limit too: the page is told, naming the state', async () => {
    const sw = new FakeContainer({ registers: ['hangs', 'hangs'], unregisterHangs: true })
    install(sw)
    const err = await registerServiceWorker({ timeoutMs: 600, stallMs: 200 }).catch((e: unknown) => e)
    expect(err).toMatchObject({ name: 'ServiceWorkerUnavailableError', reason: 'SERVICE_WORKER_UNAVAILABLE' })
    expect((err as Error).message).toContain('installing: installing')
    expect(sw.calls).toEqual(['register', 'getRegistration', 'unregister', 'register', 'getRegistration'])
  })

  it('controlled while register() and getRegistration() hang: resolves at once, waiting on neither', async () => {
    const sw = new FakeContainer({ registers: ['hangs, an older worker takes the page'], getRegistrationHangs: true })
    install(sw)
    // Fake time: only the fake's own 10 ms to control passes, far short of the stall and the limit.
    vi.useFakeTimers()
    try {
      let result: unknown
      void registerServiceWorker({ timeoutMs: 1_000, stallMs: 500 }).then(r => { result = r }, (e: unknown) => { result = e })
      await vi.advanceTimersByTimeAsync(50)
      expect(result).toEqual({ retried: false })
    } finally {
      vi.useRealTimers()
    }
  })

  it('a refused registration is final: no second try', async () => {
    const sw = new FakeContainer({ registers: ['refused'] })
    install(sw)
    const err = await registerServiceWorker({ timeoutMs: 2_000, stallMs: 500 }).catch((e: unknown) => e)
    expect(err).toMatchObject({ reason: 'SERVICE_WORKER_UNAVAILABLE' })
    expect((err as Error).message).toContain('404')
    expect(sw.calls).toEqual(['register'])
  })

  it('no service workers in this browser: the same error at once', async () => {
    Object.defineProperty(globalThis, 'navigator', { value: {}, configurable: true })
    await expect(registerServiceWorker()).rejects.toMatchObject({ reason: 'SERVICE_WORKER_UNAVAILABLE' })
  })
})
