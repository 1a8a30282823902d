import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { BACKUP_STREAM_MS, RECOVERY_STREAM_MS, createLocalApi } from './app.ts'
import { newRecoveryProgress } from '../client/recovery.ts'
import { FETCH_FACT_HEADERS } from '../shared/same-origin.ts'
import { ndjsonLines } from '../shared/streams.ts'
import { stub } from '../../test/fixtures/stub.ts'
import type { LocalApiDeps } from './app.ts'
import type { CafeHost } from '../cafe/index.ts'
import type { BackupOutbox, CafeClient, CafeSession } from '../client/index.ts'
import type { RecoverOptions, RecoveryProgress } from '../client/recovery.ts'
import type { BackupProgressEvent, BackupProgressOptions } from '../client/backups.ts'

describe('the local API refuses what another site sends', () => {
  const createToken = vi.fn(async () => ({ id: 't', token: 'secret' }))
  const app = createLocalApi(stub<LocalApiDeps>({ cafe: stub<CafeHost>({ createToken }) }))
  const post = (headers: Record<string, string>): Request => new Request('http://127.0.0.1:8080/api/v0/tokens', { method: 'POST', headers })

  it('a form another page posted (as the service worker saw it), a no-cors request, another Origin: 403 CROSS_SITE_REFUSED, nothing minted', async () => {
    const attempts: Array<Record<string, string>> = [
      { [FETCH_FACT_HEADERS.mode]: 'navigate', [FETCH_FACT_HEADERS.dest]: 'document' },
      { [FETCH_FACT_HEADERS.mode]: 'no-cors', [FETCH_FACT_HEADERS.site]: 'same-origin', [FETCH_FACT_HEADERS.dest]: 'empty' },
      { [FETCH_FACT_HEADERS.site]: 'cross-site', [FETCH_FACT_HEADERS.mode]: 'cors', [FETCH_FACT_HEADERS.dest]: 'empty' },
      { origin: 'https://evil.example' }
    ]
    for (const headers of attempts) {
      const res = await app.fetch(post(headers))
      expect(res.status).toBe(403)
      expect((await res.json()).error.reason).toBe('CROSS_SITE_REFUSED')
    }
    expect(createToken).not.toHaveBeenCalled()
  })

  it('the app\'s own fetch() goes through', async () => {
    const res = await app.fetch(post({ [FETCH_FACT_HEADERS.site]: 'same-origin', [FETCH_FACT_HEADERS.mode]: 'cors', [FETCH_FACT_HEADERS.dest]: 'empty' }))
    expect(res.status).toBe(201)
    expect(createToken).toHaveBeenCalledOnce()
  })
})

describe('a streamed recovery', () => {
  const same = { [FETCH_FACT_HEADERS.site]: 'same-origin', [FETCH_FACT_HEADERS.mode]: 'cors', [FETCH_FACT_HEADERS.dest]: 'empty' }
  const at = (blocks: number, state: RecoveryProgress['state'] = 'running'): RecoveryProgress => ({ ...newRecoveryProgress('cafe1', new Date(0)), state, blocks })
  const lines = async (res: Response): Promise<RecoveryProgress[]> => {
    const out: RecoveryProgress[] = []
    for await (const v of ndjsonLines(res.body!)) out.push(v)
    return out
  }
  const api = (run: (options: RecoverOptions) => Promise<RecoveryProgress>): ReturnType<typeof createLocalApi> => createLocalApi(stub<LocalApiDeps>({
    client: stub<CafeClient>({ get: async () => stub<CafeSession>() }),
    recover: async (_id: string, options: RecoverOptions = {}) => run(options),
    recovery: () => undefined
  }))
  const post = (stream: boolean): Request => new Request(`http://127.0.0.1:8080/api/v0/cafes/cafe1/recover${stream ? '?stream=1' : ''}`, { method: 'POST', headers: same })

  beforeEach(() => { vi.useFakeTimers() })
  afterEach(() => { vi.useRealTimers() })

  it('sends progress as lines of JSON while it runs, at most one per interval, and the outcome last', async () => {
    const app = api(async ({ onProgress }) => {
      // A burst of 500 steps at once, a pause, then the rest: the burst is one line, not 500.
      for (let i = 0; i <= 500; i++) onProgress?.({ type: 'recovery:progress', detail: at(i) })
      await new Promise(resolve => setTimeout(resolve, RECOVERY_STREAM_MS * 3))
      onProgress?.({ type: 'recovery:progress', detail: at(600, 'done') })
      return at(600, 'done')
    })
    const res = await app.fetch(post(true))
    expect(res.headers.get('content-type')).toBe('application/x-ndjson')
    const got = lines(res)
    await vi.advanceTimersByTimeAsync(RECOVERY_STREAM_MS * 3)
    expect((await got).map(p => [p.blocks, p.state])).toEqual([[500, 'running'], [600, 'done']])
  })

  it('ends with the failed state when the recovery fails, and answers JSON without stream=1', async () => {
    const failed = { ...at(3, 'failed'), error: { reason: 'RECOVERY_INCOMPLETE', details: 'the cafe sent a DAG without its blocks' } }
    const failing = api(async ({ onProgress }) => {
      onProgress?.({ type: 'recovery:progress', detail: at(0) })
      await new Promise(resolve => setTimeout(resolve, 1))
      onProgress?.({ type: 'recovery:progress', detail: failed })
      throw new Error('failed')
    })
    const got = lines(await failing.fetch(post(true)))
    await vi.advanceTimersByTimeAsync(1)
    expect((await got).at(-1)).toEqual(failed)
    const plain = await api(async () => at(2, 'done')).fetch(post(false))
    expect(await plain.json()).toEqual(at(2, 'done'))
  })
})

describe('a streamed list of backups', () => {
  beforeEach(() => { vi.useFakeTimers() })
  afterEach(() => { vi.useRealTimers() })
  const same = { [FETCH_FACT_HEADERS.site]: 'same-origin', [FETCH_FACT_HEADERS.mode]: 'cors', [FETCH_FACT_HEADERS.dest]: 'empty' }
  const at = (sent: number): BackupProgressEvent => ({ type: 'backup:progress', detail: { cid: 'bafy1', cafe: { id: 'cafe1', status: 'pinning', sent, size: 1000 } } })

  it('sends the list first, then each backup\'s latest change at most once per interval, and stops when the page goes away', async () => {
    let watcher: BackupProgressOptions | undefined
    const list = [{ cid: 'bafy1', cafes: [{ id: 'cafe1', status: 'queued' as const }] }]
    const app = createLocalApi(stub<LocalApiDeps>({
      backups: stub<BackupOutbox>({
        watch: (o: BackupProgressOptions) => { watcher = o },
        list: async () => list
      })
    }))
    const page = new AbortController()
    const res = await app.fetch(new Request('http://127.0.0.1:8080/api/v0/backups?stream=1', { headers: same, signal: page.signal }))
    expect(res.headers.get('content-type')).toBe('application/x-ndjson')
    const lines = ndjsonLines(res.body!)
    expect((await lines.next()).value).toEqual({ type: 'backups', backups: list })
    // A burst of 300 chunks is one line: the last.
    for (let i = 1; i <= 300; i++) watcher!.onProgress(at(i))
    watcher!.onProgress({ type: 'backup:removed', detail: { cid: 'bafy2', id: 'cafe1' } })
    await vi.advanceTimersByTimeAsync(BACKUP_STREAM_MS)
    expect((await lines.next()).value).toEqual(at(300))
    expect((await lines.next()).value).toEqual({ type: 'backup:removed', detail: { cid: 'bafy2', id: 'cafe1' } })
    // A later change: sent once the interval has passed.
    watcher!.onProgress(at(400))
    await vi.advanceTimersByTimeAsync(BACKUP_STREAM_MS)
    expect((await lines.next()).value).toEqual(at(400))
    // The page leaves: the watch ends and the stream closes.
    page.abort()
    expect(watcher!.signal?.aborted).toBe(true)
    expect((await lines.next()).done).toBe(true)
  })

  it('ends its watch and its timers when the reader cancels the body, the request still open [issue 24]', async () => {
    const watchers: BackupProgressOptions[] = []
    const app = createLocalApi(stub<LocalApiDeps>({ backups: stub<BackupOutbox>({ watch: (o: BackupProgressOptions) => { watchers.push(o) }, list: async () => [] }) }))
    for (let i = 0; i < 20; i++) {
      const res = await app.fetch(new Request('http://127.0.0.1:8080/api/v0/backups?stream=1', { headers: same }))
      const reader = res.body!.getReader()
      expect((await reader.read()).done).toBe(false)
      watchers.at(-1)!.onProgress(at(i))
      await reader.cancel()
    }
    // Before: all 20 watching, each with its 10-minute timer and a pending flush.
    expect(watchers.filter(w => w.signal?.aborted !== true)).toHaveLength(0)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('answers JSON without stream=1', async () => {
    const app = createLocalApi(stub<LocalApiDeps>({ backups: stub<BackupOutbox>({ list: async () => [] }) }))
    const res = await app.fetch(new Request('http://127.0.0.1:8080/api/v0/backups', { headers: same }))
    expect(await res.json()).toEqual([])
  })
})
