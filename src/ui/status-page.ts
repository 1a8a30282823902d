import { acceptJoin, banners, inviteSection, keepAwake, watchForUpdates } from './kiosk.ts'
import { call } from './local-api.ts'
import type { RunningPeer } from './peer.ts'

/** Builds an element: h('button', { type: 'button' }, 'text'). */
function h<K extends keyof HTMLElementTagNameMap> (tag: K, attrs: Record<string, string> = {}, ...children: Array<Node | string>): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v)
  el.append(...children)
  return el
}


function section (title: string, id: string): { root: HTMLElement, body: HTMLElement } {
  const body = h('div', { class: 'body' })
  const root = h('section', { 'aria-labelledby': `${id}-h`, id }, h('h2', { id: `${id}-h` }, title), body)
  return { root, body }
}

function short (id: string): string { return id.length > 20 ? `${id.slice(0, 10)}…${id.slice(-6)}` : id }

const mib = (n: number): string => `${(n / 2 ** 20).toFixed(n < 10 * 2 ** 20 ? 2 : 0)} MiB`

/** The first status page: identity, relays, cafe mode, tokens, clients and this peer's cafes. */
export function renderStatus (root: HTMLElement, peer: RunningPeer): void {
  const status = h('p', { role: 'status', class: 'message', 'data-testid': 'message' })
  const say = (text: string): void => { status.textContent = text }
  const banner = h('div', { role: 'alert', class: 'banner', 'data-testid': 'banner', hidden: '' })
  const update = h('div', { class: 'banner', 'data-testid': 'update', hidden: '' })
  watchForUpdates(apply => {
    const reload = h('button', { type: 'button' }, 'Reload to update')
    reload.addEventListener('click', apply)
    update.replaceChildren('A new version of Lightcafe is ready. ', reload)
    update.hidden = false
  })
  void acceptJoin(peer, (text) => { say(text) })

  const ident = section('This peer', 'peer')
  const relays = section('Relays', 'relays')
  const cafe = section('Cafe', 'cafe')
  const tokens = section('Access tokens', 'tokens')
  const clients = section('Registered clients', 'clients')
  const cafes = section('My cafes', 'cafes')
  const search = section('Find people', 'search')

  // Results appear as cafes answer (an NDJSON stream from the local API).
  const query = h('input', { type: 'search', id: 'search-name', 'data-testid': 'search-name', maxlength: '64', autocomplete: 'off' })
  const results = h('ul', { 'data-testid': 'search-results', 'aria-live': 'polite' })
  const searchState = h('p', { 'data-testid': 'search-state' }, '')
  const searchForm = h('form', { role: 'search' }, h('label', { for: 'search-name' }, 'Name '), query, ' ', h('button', { type: 'submit' }, 'Search'))
  searchForm.addEventListener('submit', (e) => {
    e.preventDefault()
    results.replaceChildren()
    searchState.textContent = 'Asking the cafes…'
    void (async () => {
      const res = await fetch(`/api/v0/search?stream=1&wait=3000&name=${encodeURIComponent(query.value)}`)
      if (!res.ok || res.body == null) { searchState.textContent = `Search failed: ${(await res.json().catch(() => null))?.error?.details ?? res.status}`; return }
      const shown = new Set<string>()
      let buffer = ''
      const decoder = new TextDecoder()
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true })
        let nl: number
        while ((nl = buffer.indexOf('\n')) >= 0) {
          const line = JSON.parse(buffer.slice(0, nl))
          buffer = buffer.slice(nl + 1)
          if (line.done === true) {
            searchState.textContent = line.error != null ? `Search failed: ${line.error.details}` : `${line.results.length} found; ${line.answered.length} of ${line.asked} cafes answered in ${line.ms} ms`
            continue
          }
          for (const c of line.added ?? []) {
            if (shown.has(c.address)) continue
            shown.add(c.address)
            results.append(h('li', { 'data-testid': 'search-result', title: c.address }, `${c.name} — ${short(c.address)}`))
          }
        }
      }
    })().catch(err => { searchState.textContent = `Search failed: ${String(err)}` })
  })
  search.body.append(searchForm, searchState, results)

  // Settings: the cafe's name and default quota.
  const settings = section('Cafe settings', 'settings')
  const nameInput = h('input', { id: 'cafe-name', 'data-testid': 'cafe-name', maxlength: '64' })
  const quotaInput = h('input', { id: 'cafe-quota', 'data-testid': 'cafe-quota', type: 'number', min: '1', step: '1' })
  const settingsForm = h('form', {}, h('label', { for: 'cafe-name' }, 'Name'), nameInput, h('label', { for: 'cafe-quota' }, 'Storage per client (MiB)'), quotaInput, h('button', { type: 'submit' }, 'Save settings'))
  settingsForm.addEventListener('submit', (e) => {
    e.preventDefault()
    call(peer, 'PUT', '/api/v0/cafe', { name: nameInput.value, quotaBytes: Math.round(Number(quotaInput.value) * 2 ** 20) })
      .then(() => { say('Settings saved.'); void refresh() }, err => say(String(err)))
  })
  settings.body.append(settingsForm)
  void call<any>(peer, 'GET', '/api/v0/cafe').then(c => { nameInput.value = c.name; quotaInput.value = String(Math.round(c.quotaBytes / 2 ** 20)) })

  // My backups: each DAG's state per cafe, with the bytes sent while an upload runs.
  const backupsSection = section('My backups', 'backups')
  const backupList = h('ul', { 'data-testid': 'backup-list' })
  backupsSection.body.append(backupList)

  // Messages: send to an account address, read what arrived.
  const messagesSection = section('Messages', 'messages')
  const toInput = h('input', { id: 'msg-to', 'data-testid': 'msg-to', maxlength: '64', autocomplete: 'off' })
  const textInput = h('textarea', { id: 'msg-text', 'data-testid': 'msg-text', maxlength: '4000', rows: '2' })
  const sendForm = h('form', {}, h('label', { for: 'msg-to' }, 'To (account address)'), toInput, h('label', { for: 'msg-text' }, 'Message'), textInput, h('button', { type: 'submit' }, 'Send'))
  sendForm.addEventListener('submit', (e) => {
    e.preventDefault()
    call<{ route: string }>(peer, 'POST', '/api/v0/messages', { to: toInput.value.trim(), body: textInput.value })
      .then(r => { say(r.route === 'direct' ? 'Delivered.' : r.route === 'inbox' ? 'Left in their cafe inbox.' : 'Queued: it goes out when their peer or cafes can be reached.'); textInput.value = '' }, err => say(String(err)))
  })
  const messageList = h('ol', { 'data-testid': 'message-list' })
  const showMessages = h('button', { type: 'button', 'data-testid': 'show-messages' }, 'Show received messages')
  showMessages.addEventListener('click', () => {
    call<any[]>(peer, 'GET', '/api/v0/messages').then(rows => {
      messageList.replaceChildren(...rows.map(m => h('li', { title: m.from }, `${short(m.from)}: ${m.body}`)))
      void refresh()
    }, err => say(String(err)))
  })
  messagesSection.body.append(sendForm, showMessages, messageList)

  // The recovery phrase: shown only on request, with a warning.
  const account = section('Recovery phrase', 'account')
  const phrase = h('output', { 'data-testid': 'mnemonic', class: 'secret' })
  const reveal = h('button', { type: 'button', 'data-testid': 'reveal-mnemonic' }, 'Show recovery phrase')
  reveal.addEventListener('click', () => {
    if (!confirm('Anyone who sees these words can read your backups and act as you. Show them now?')) return
    call<{ mnemonic: string }>(peer, 'GET', '/api/v0/account/mnemonic').then(m => { phrase.textContent = m.mnemonic }, err => say(String(err)))
  })
  account.body.append(h('p', {}, 'Write these words down and keep them offline: with them alone a new device recovers everything.'), reveal, phrase)

  const toggle = h('input', { type: 'checkbox', id: 'cafe-enabled', 'data-testid': 'cafe-enabled' })
  toggle.addEventListener('change', () => {
    call(peer, 'PUT', '/api/v0/cafe', { enabled: toggle.checked }).then(() => { void refresh() }, err => say(String(err)))
  })
  cafe.body.append(h('label', { for: 'cafe-enabled' }, toggle, ' Offer cafe services to other peers'))
  const awake = h('dd', { 'data-testid': 'wake-lock' }, '…')
  const storage = h('dd', { 'data-testid': 'storage' }, '…')
  cafe.body.append(h('dl', {}, h('dt', {}, 'Screen'), awake, h('dt', {}, 'Storage'), storage))
  const retakeWakeLock = keepAwake(async () => (await call<any>(peer, 'GET', '/api/v0/cafe')).enabled === true, state => { awake.textContent = state })
  toggle.addEventListener('change', retakeWakeLock)
  let wasCafe = false

  const created = h('output', { 'data-testid': 'new-token', class: 'secret' })
  const createBtn = h('button', { type: 'button', 'data-testid': 'create-token' }, 'Create access token')
  createBtn.addEventListener('click', () => {
    call<{ id: string, token: string }>(peer, 'POST', '/api/v0/tokens').then(t => {
      created.textContent = t.token
      copyBtn.hidden = false
      say('Token created. Copy it now: it is shown only once.')
      void refresh()
    }, err => say(String(err)))
  })
  const copyBtn = h('button', { type: 'button', hidden: '' }, 'Copy token')
  copyBtn.addEventListener('click', () => { void navigator.clipboard?.writeText(created.textContent ?? '').then(() => say('Copied.'), () => say('Copy failed; select the token and copy it by hand.')) })
  const tokenList = h('ul', { 'data-testid': 'token-list' })
  tokens.body.append(createBtn, h('p', {}, created, ' ', copyBtn), tokenList)

  const clientTable = h('tbody', { 'data-testid': 'client-list' })
  clients.body.append(h('div', { class: 'table-wrap' }, h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, 'Account'), h('th', {}, 'Peer'), h('th', {}, 'Registered'), h('th', {}, 'Last seen'), h('th', {}, 'Stored / quota'), h('th', {}, 'Pins'), h('th', {}, 'Snapshots'), h('th', {}, 'Inbox'))), clientTable)))

  const cafeInput = h('input', { id: 'cafe-addr', required: '', autocomplete: 'off', placeholder: '12D3Koo… or /ip4/…/p2p/…' })
  const tokenInput = h('input', { id: 'cafe-token', required: '', autocomplete: 'off' })
  const form = h('form', { 'data-testid': 'register-form' },
    h('label', { for: 'cafe-addr' }, 'Cafe peer id or address'), cafeInput,
    h('label', { for: 'cafe-token' }, 'Access token'), tokenInput,
    h('button', { type: 'submit' }, 'Register'))
  form.addEventListener('submit', ev => {
    ev.preventDefault()
    say('Registering…')
    call(peer, 'POST', '/api/v0/cafes', { cafe: cafeInput.value.trim(), token: tokenInput.value.trim() }).then(() => {
      say('Registered.')
      tokenInput.value = ''
      void refresh()
    }, err => say(String(err)))
  })
  const cafeList = h('ul', { 'data-testid': 'cafe-list' })
  const unread = h('p', { 'data-testid': 'unread' }, '')
  cafes.body.append(form, cafeList, unread)

  const invite = section('Invite a client', 'invite')
  invite.body.append(inviteSection(h, peer, say))
  root.replaceChildren(h('h1', {}, 'Lightcafe'), banner, update, status, invite.root, ident.root, relays.root, cafe.root, tokens.root, clients.root, settings.root, cafes.root, backupsSection.root, messagesSection.root, search.root, account.root)

  async function refresh (): Promise<void> {
    const [info, tokenRows, clientRows, cafeRows, conns, inbox] = await Promise.all([
      call(peer, 'GET', '/api/v0/peer'),
      call<any[]>(peer, 'GET', '/api/v0/tokens'),
      call<any[]>(peer, 'GET', '/api/v0/clients'),
      call<any[]>(peer, 'GET', '/api/v0/cafes'),
      call<any[]>(peer, 'GET', '/api/v0/connections'),
      call<any>(peer, 'GET', '/api/v0/messages/status')
    ])
    const st = await call<{ usage: number, quota: number, persisted: boolean }>(peer, 'GET', '/api/v0/storage')
    const alerts = banners(peer, st)
    banner.replaceChildren(...alerts.map(a => h('p', {}, a)))
    banner.hidden = alerts.length === 0
    storage.textContent = `${mib(st.usage)} of ${mib(st.quota)} used; ${st.persisted === true ? 'persistent (the browser will not evict it)' : 'not persistent: the browser may evict it under pressure'}`
    const backupRows = await call<any[]>(peer, 'GET', '/api/v0/backups')
    backupList.replaceChildren(...backupRows.map(b => h('li', { 'data-testid': 'backup', title: b.cid }, `${short(b.cid)}: `,
      ...b.cafes.map((c: any) => h('span', { class: 'backup-state' }, `${short(c.id)} ${c.status}${c.sent != null ? ` (${mib(c.sent)} sent)` : ''}${c.error != null ? ` — ${c.error.reason}` : ''} `)))))
    unread.textContent = `Messages: ${inbox.unread} unread of ${inbox.received}${inbox.outbox > 0 ? `, ${inbox.outbox} waiting to be delivered` : ''}`
    ident.body.replaceChildren(h('dl', {},
      h('dt', {}, 'Peer id'), h('dd', { 'data-testid': 'peer-id' }, info.peerId),
      h('dt', {}, 'Account'), h('dd', { 'data-testid': 'account' }, info.address),
      h('dt', {}, 'Connections'), h('dd', {}, conns.map((c: any) => `${short(c.peerId)} (${c.transport})`).join(', ') || 'none')))
    relays.body.replaceChildren(h('ul', {}, ...info.relays.map((r: any) =>
      h('li', { 'data-testid': 'relay' }, `${r.connected ? (r.reserved ? 'reserved' : 'connected') : 'reconnecting'} — ${r.multiaddr}`))))
    toggle.checked = info.cafe.enabled === true
    // Cafe mode may change through the API too: take or release the screen wake lock then.
    if (toggle.checked !== wasCafe) { wasCafe = toggle.checked; retakeWakeLock() }
    tokenList.replaceChildren(...tokenRows.map((t: any) => {
      const revoke = h('button', { type: 'button', 'aria-label': `Revoke token ${t.id}` }, 'Revoke')
      revoke.addEventListener('click', () => { call(peer, 'DELETE', `/api/v0/tokens/${encodeURIComponent(t.id)}`).then(() => { void refresh() }, err => say(String(err))) })
      return h('li', {}, `${t.id} — ${t.revoked != null ? 'revoked' : t.usedBy != null ? `used by ${short(t.usedBy)}` : 'unused'} `, t.revoked != null ? '' : revoke)
    }))
    clientTable.replaceChildren(...clientRows.map((c: any) => h('tr', {},
      h('td', { title: c.address }, short(c.address)), h('td', { title: c.peerId }, short(c.peerId)), h('td', {}, c.registered), h('td', {}, c.lastSeen),
      h('td', { 'data-testid': 'client-bytes' }, `${mib(c.bytes)} / ${mib(c.quota)}`), h('td', {}, String(c.pins)), h('td', {}, String(c.snapshots)), h('td', { 'data-testid': 'client-inbox' }, String(c.inbox)))))
    cafeList.replaceChildren(...cafeRows.map((s: any) => {
      const leave = h('button', { type: 'button', 'aria-label': `Deregister from ${s.id}` }, 'Deregister')
      leave.addEventListener('click', () => { call(peer, 'DELETE', `/api/v0/cafes/${encodeURIComponent(s.id)}`).then(() => { void refresh() }, err => say(String(err))) })
      return h('li', {}, `${short(s.id)} — ${s.ended != null ? `ended (${s.ended.reason})` : `session until ${s.exp}`} `, leave)
    }))
  }

  const tick = (): void => { refresh().catch(err => say(String(err))) }
  peer.node.relays.addEventListener('change', tick)
  peer.client.addEventListener('change', tick)
  peer.messages.addEventListener('message', tick)
  setInterval(tick, 3_000)
  tick()
}
