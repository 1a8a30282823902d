import { ServiceWorkerUnavailableError, container } from './page-bridge.ts'
import type { PageControl } from './protocol.ts'

/** The page half of the worker's start: runs in the window, never in the worker. */

/**
 * Resolves with the service worker that controls this page, once one does; rejects with
 * `ServiceWorkerUnavailableError` after `timeoutMs` or on `signal`.
 */
export async function waitForController (timeoutMs = 15_000, options: { signal?: AbortSignal } = {}): Promise<ServiceWorker> {
  const sw = container()
  if (sw.controller != null) return sw.controller
  return new Promise((resolve, reject) => {
    const done = (err?: Error): void => {
      clearTimeout(timer)
      sw.removeEventListener('controllerchange', onChange)
      options.signal?.removeEventListener('abort', onAbort)
      if (err != null) reject(err)
      else resolve(sw.controller!)
    }
    const onChange = (): void => { if (sw.controller != null) done() }
    const onAbort = (): void => { done(options.signal?.reason as Error) }
    const timer = setTimeout(() => { done(new ServiceWorkerUnavailableError(`no service worker took control of this page within ${timeoutMs} ms`)) }, timeoutMs)
    sw.addEventListener('controllerchange', onChange)
    options.signal?.addEventListener('abort', onAbort)
    if (options.signal?.aborted === true) onAbort()
  })
}

/** `p`'s value, or `undefined` if it takes longer than `ms` (the promise is left to settle unseen). */
async function within<T> (p: Promise<T> | undefined, ms: number): Promise<T | undefined> {
  if (p == null) return undefined
  let timer: ReturnType<typeof setTimeout> | undefined
  try {
    return await Promise.race([p, new Promise<undefined>(resolve => { timer = setTimeout(() => { resolve(undefined) }, Math.max(0, ms)) })])
  } finally {
    clearTimeout(timer)
  }
}

/** A registration's workers in words, for the message a person reads. */
function stateOf (reg: ServiceWorkerRegistration | undefined): string {
  if (reg == null) return 'the registration itself never finished'
  const parts = ([['installing', reg.installing], ['waiting', reg.waiting], ['active', reg.active]] as const)
    .filter(([, w]) => w != null).map(([k, w]) => `${k}: ${w!.state}`)
  return parts.length === 0 ? 'no worker' : parts.join(', ')
}

export interface Registered {
  /** The first registration was stuck and was replaced by a second one. */
  retried: boolean
}

/**
 * One try: registers `/sw.js` and waits up to `ms` (the registration included) for it to
 * control this page. On the first visit the new worker activates at once and claims the page;
 * a worker that is active already (after a hard reload) is asked to claim it.
 */
async function attempt (sw: ServiceWorkerContainer, ms: number, signal?: AbortSignal): Promise<{ registration?: ServiceWorkerRegistration, controlled: boolean }> {
  const controlled = waitForController(ms, { signal }).then(() => true, (err: unknown) => {
    if (signal?.aborted === true) throw err
    return false
  })
  const registering = sw.register('/sw.js', { scope: '/', updateViaCache: 'none' })
  // Control can come before register() returns (a worker active already claims the page, while
  // WebKit holds the new job): nothing is left to wait for then.
  const settled = Promise.race([registering, controlled.then(ok => ok ? undefined : registering, async () => await registering)])
  // A refusal (an insecure origin, a script that does not load) is final; a hang is a stall.
  const registration = await within(settled, ms).catch((err: unknown) => {
    throw new ServiceWorkerUnavailableError(`the service worker could not be registered: ${(err as Error).message}`)
  })
  if (registration != null && sw.controller == null) {
    // (`ready` never settles if the install fails; the bounded wait is what ends then.)
    void sw.ready.then(reg => {
      if (sw.controller == null) reg.active?.postMessage({ type: 'lightcafe:claim' } satisfies PageControl)
    })
  }
  return { registration, controlled: await controlled }
}

/**
 * Registers `/sw.js` for the whole origin and resolves once it controls this page, all within
 * `timeoutMs` (the `register()` call included: in WebKit it can hang). A first try that has not
 * taken control after `stallMs` is taken for stuck: WebKit can leave a registration made just
 * before the page navigates again `installing` forever, or active without taking the page
 * (seen in 5 of 48 loads with a reload 60–150 ms in). Its registration is unregistered and a
 * second try gets what time is left. Rejects with ServiceWorkerUnavailableError naming the
 * state it was left in.
 */
export async function registerServiceWorker (options: { timeoutMs?: number, stallMs?: number, signal?: AbortSignal } = {}): Promise<Registered> {
  const sw = container()
  const timeoutMs = options.timeoutMs ?? 30_000
  const end = Date.now() + timeoutMs
  const left = (most = Infinity): number => Math.max(0, Math.min(most, end - Date.now()))
  const first = await attempt(sw, left(options.stallMs ?? 8_000), options.signal)
  if (first.controlled) return { retried: false }
  const stuck = first.registration ?? await within(sw.getRegistration(), left(1_000))
  const before = stateOf(stuck)
  // Bounded: an unregister can queue behind the stuck job (the worker's own install is bounded, see shell.ts).
  await within(stuck?.unregister().catch(() => false), Math.min(3_000, left() / 2))
  const second = await attempt(sw, left(), options.signal)
  if (second.controlled) return { retried: true }
  const after = second.registration ?? await within(sw.getRegistration(), 200)
  throw new ServiceWorkerUnavailableError(`the service worker did not take control of this page within ${Math.round(timeoutMs / 1000)} s, registered twice (first ${before}; then ${stateOf(after)})`)
}
