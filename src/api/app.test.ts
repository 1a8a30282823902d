import { describe, expect, it, vi } from 'vitest'
import { createLocalApi } from './app.ts'
import { FETCH_FACT_HEADERS } from '../shared/same-origin.ts'
import type { LocalApiDeps } from './app.ts'

describe('the local API refuses what another site sends', () => {
  const createToken = vi.fn(async () => ({ id: 't', token: 'secret' }))
  const app = createLocalApi({ cafe: { createToken } } as unknown as LocalApiDeps)
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
