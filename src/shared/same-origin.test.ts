import { describe, expect, it } from 'vitest'
import { FETCH_FACT_HEADERS, crossSiteRefusal, factsOf, needsAppFetch } from './same-origin.ts'

const self = 'http://127.0.0.1:8080'
const facts = (f: Partial<Parameters<typeof crossSiteRefusal>[0]>): Parameters<typeof crossSiteRefusal>[0] => ({ method: 'POST', path: '/api/v0/tokens', selfOrigin: self, ...f })

describe('cross-site requests to the local API', () => {
  it('lets the app\'s own fetch() through, and the node page\'s direct calls (no facts at all)', () => {
    expect(crossSiteRefusal(facts({ site: 'same-origin', mode: 'cors', dest: 'empty', origin: self }))).toBeUndefined()
    expect(crossSiteRefusal(facts({ site: 'same-origin', mode: 'same-origin', dest: 'empty' }))).toBeUndefined()
    expect(crossSiteRefusal(facts({}))).toBeUndefined()
    expect(crossSiteRefusal(facts({ method: 'GET', path: '/api/v0/account/mnemonic', site: 'same-origin', mode: 'cors', dest: 'empty' }))).toBeUndefined()
  })

  it('refuses another origin or site, whatever the method', () => {
    expect(crossSiteRefusal(facts({ origin: 'https://evil.example' }))).toMatch(/evil\.example/)
    expect(crossSiteRefusal(facts({ origin: 'http://127.0.0.1:9999' }))).toBeDefined()
    for (const site of ['cross-site', 'same-site']) {
      expect(crossSiteRefusal(facts({ site, mode: 'cors', dest: 'empty' }))).toBeDefined()
      expect(crossSiteRefusal(facts({ method: 'GET', path: '/api/v0/peer', site, mode: 'cors', dest: 'empty' }))).toBeDefined()
    }
  })

  it('refuses navigations (a posted form, a link), no-cors and element requests on routes that change state or read secrets', () => {
    expect(crossSiteRefusal(facts({ mode: 'navigate', dest: 'document' }))).toMatch(/not a page/)
    expect(crossSiteRefusal(facts({ method: 'GET', path: '/api/v0/peer', mode: 'navigate', dest: 'document', site: 'none' }))).toMatch(/not a page/)
    expect(crossSiteRefusal(facts({ site: 'same-origin', mode: 'no-cors', dest: 'empty' }))).toMatch(/no-cors/)
    expect(crossSiteRefusal(facts({ method: 'GET', path: '/api/v0/account/mnemonic', site: 'same-origin', mode: 'no-cors', dest: 'image' }))).toBeDefined()
    expect(crossSiteRefusal(facts({ site: 'same-origin', mode: 'cors', dest: 'iframe' }))).toMatch(/iframe/)
    // A secret is never read by a request the user typed (site `none`).
    expect(crossSiteRefusal(facts({ method: 'GET', path: '/api/v0/account/mnemonic', site: 'none', mode: 'cors', dest: 'empty' }))).toBeDefined()
    // A harmless read by an element of the app's own page is fine (e.g. an image from /ipfs).
    expect(crossSiteRefusal(facts({ method: 'GET', path: '/ipfs/bafy', site: 'same-origin', mode: 'no-cors', dest: 'image' }))).toBeUndefined()
  })

  it('knows which routes need the app\'s fetch()', () => {
    for (const [m, p] of [['POST', '/api/v0/tokens'], ['PUT', '/api/v0/cafe'], ['DELETE', '/api/v0/cafes/x'], ['GET', '/api/v0/account/mnemonic'], ['GET', '/api/v0/tokens']]) expect(needsAppFetch(m, p)).toBe(true)
    for (const [m, p] of [['GET', '/api/v0/peer'], ['HEAD', '/ipfs/x'], ['GET', '/api/v0/tokens/x/y']]) expect(needsAppFetch(m, p)).toBe(false)
  })

  it('reads the facts from Fetch Metadata, or from what the service worker passed on', () => {
    const passed = factsOf(new Request(`${self}/api/v0/tokens`, { method: 'POST', headers: { [FETCH_FACT_HEADERS.mode]: 'navigate', [FETCH_FACT_HEADERS.site]: 'cross-site', [FETCH_FACT_HEADERS.dest]: 'document' } }))
    expect(passed).toMatchObject({ method: 'POST', path: '/api/v0/tokens', selfOrigin: self, mode: 'navigate', site: 'cross-site', dest: 'document' })
    expect(crossSiteRefusal(passed)).toBeDefined()
  })
})
