import { describe, expect, it } from 'vitest'
import { prefixRouter } from './router.ts'

const answer = (said: string) => async (request: Request, peer?: string): Promise<Response> =>
  new Response(`${said} ${new URL(request.url).pathname}${peer != null ? ` for ${peer}` : ''}`)
const text = async (res: Promise<Response>): Promise<string> => (await res).text()
const req = (path: string): Request => new Request(`http://x${path}`)

describe('the ordered prefix router', () => {
  const router = prefixRouter([
    ['/api/', { own: answer('api') }],
    ['/both/', { own: answer('own'), peer: answer('peer') }],
    ['/both/inner/', { own: answer('never: an earlier route takes it') }],
    ['/peers/', { peer: answer('peers') }]
  ], { own: answer('own fallback'), peer: answer('peer fallback') })

  it('answers by the first route whose prefix matches, per caller', async () => {
    expect(await text(router.own(req('/api/x')))).toBe('api /api/x')
    expect(await text(router.own(req('/both/inner/y')))).toBe('own /both/inner/y')
    expect(await text(router.peer(req('/both/z'), 'P'))).toBe('peer /both/z for P')
    expect(await text(router.peer(req('/peers/q?a=1'), 'P'))).toBe('peers /peers/q for P')
  })

  it('passes a caller a route has no handler for on to the next routes, then to the fallback', async () => {
    expect(await text(router.peer(req('/api/x'), 'P'))).toBe('peer fallback /api/x for P')
    expect(await text(router.own(req('/peers/q')))).toBe('own fallback /peers/q')
    // A prefix is a path's start, not any part of it.
    expect(await text(router.own(req('/x/api/')))).toBe('own fallback /x/api/')
    expect(await text(router.own(req('/api')))).toBe('own fallback /api')
  })
})
