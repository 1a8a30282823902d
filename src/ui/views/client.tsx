import { Fragment } from 'preact'
import { useEffect, useRef, useState } from 'preact/hooks'
import { clock, errorText, mib, short } from '../format.ts'
import { call, localFetch } from '../local-api.ts'
import { useDashboard } from '../live.ts'
import { fetchName, knownName } from '../cafe-names.ts'
import { Bar, Details, Section } from './section.tsx'
import type { LiveData } from '../live.ts'
import type { RecoveryProgress } from '../../client/index.ts'

/** How this peer reaches a cafe right now: the health line of a session. */
function reach (conns: LiveData['conns'], cafe: string): string {
  const mine = conns.filter(c => c.peerId === cafe)
  if (mine.some(c => c.direct)) return `connected directly (${mine.find(c => c.direct)!.transport})`
  if (mine.length > 0) return 'connected through a relay'
  return 'not connected (dials when needed)'
}

/** My cafes: register with one, each session's state and health, leave one. */
export function MyCafes ({ invitation, joined }: { invitation?: { cafe: string, token: string }, joined?: { cafe: string, text: string } }) {
  const { peer, live, refresh, say } = useDashboard()
  const names = useCafeNames(live?.cafes.map(s => s.id) ?? [])
  const welcome = useRef<HTMLDivElement>(null)
  useEffect(() => { if (joined != null) welcome.current?.focus() }, [joined])
  const register = (e: Event): void => {
    e.preventDefault()
    const form = e.currentTarget as HTMLFormElement
    const f = new FormData(form)
    say('Registering…')
    call(peer, 'POST', '/api/v0/cafes', { cafe: String(f.get('cafe')).trim(), token: String(f.get('token')).trim() }).then(() => {
      say('Registered.')
      ;(form.elements.namedItem('token') as HTMLInputElement).value = ''
      refresh()
    }, err => { say(errorText(err)) })
  }
  const leave = (id: string): void => {
    if (!confirm(`Leave the cafe ${short(id)}? It deletes what it keeps for this account there: backups, snapshots, waiting messages.`)) return
    const forget = (force: boolean): void => {
      call(peer, 'DELETE', `/api/v0/cafes/${encodeURIComponent(id)}${force ? '?force=true' : ''}`).then(() => {
        say(force ? `Forgot ${short(id)} on this device (the cafe was not told).` : `Left ${short(id)}.`)
        refresh()
        document.getElementById('cafe-list-h')?.focus()
      }, err => {
        // A cafe gone for good would hold this device's session for ever: offer to drop it here only.
        if (!force && errorText(err).startsWith('CAFE_UNREACHABLE') && confirm(`${short(id)} cannot be reached. Forget it on this device only?`)) { forget(true); return }
        say(`Not left: ${errorText(err)}`)
      })
    }
    forget(false)
  }
  const inbox = live?.inbox
  const cafes = live?.cafes ?? []
  const nameOf = (id: string): string => names[id] ?? `Cafe ${short(id)}`
  return (
    <Section id='my-cafes'>
      {joined != null && (
        // The guest's landing: what happened and what to do next, in plain words.
        <div class='welcome' data-testid='joined' tabIndex={-1} ref={welcome}>
          <p><strong>{joined.text}</strong></p>
          <p><a href='#backups'>Back up a file</a> · <a href='#messages'>Send a message</a></p>
        </div>
      )}
      <h3 id='cafe-list-h' tabIndex={-1}>Registered with</h3>
      {live?.cafes.length === 0 && <p>No cafe yet: open the invitation link from a cafe's screen (or scan its QR code with this device's camera), or enter its peer id and token below.</p>}
      <ul data-testid='cafe-list'>
        {cafes.map(s => (
          <li key={s.id} title={s.id}>
            <bdi>{nameOf(s.id)}</bdi> — {s.ended != null ? `ended (${s.ended.reason}): register again with a new token` : `signed in, renews by itself until ${new Date(s.rexp).toLocaleDateString()}`}{' '}
            <button type='button' aria-label={`Deregister from ${s.id}`} onClick={() => { leave(s.id) }}>Deregister</button>
          </li>
        ))}
      </ul>
      {cafes.length > 0 && (
        <Details testId='cafes-details'>
          <dl>
            {cafes.map(s => <Fragment key={s.id}>
              <dt><bdi>{nameOf(s.id)}</bdi></dt>
              <dd>{s.id}{s.ended == null && live != null && <><br /><span data-testid='cafe-health'>{reach(live.conns, s.id)}</span></>}</dd>
            </Fragment>)}
          </dl>
        </Details>
      )}
      <p data-testid='unread'>{inbox == null ? '' : `Messages: ${inbox.unread} unread of ${inbox.received}${inbox.outbox > 0 ? `, ${inbox.outbox} waiting to be delivered` : ''}`}</p>
      <h3 id='register-h'>Join a cafe by hand</h3>
      {/* Keyed by a failed invitation, so its cafe and token fill the form for another try. */}
      <form data-testid='register-form' onSubmit={register} key={invitation?.token} aria-labelledby='register-h'>
        <label for='cafe-addr'>Cafe peer id or address</label>
        <input id='cafe-addr' name='cafe' required autocomplete='off' placeholder='12D3Koo… or /ip4/…/p2p/…' maxLength={512} defaultValue={invitation?.cafe} />
        <label for='cafe-token'>Access token</label>
        <input id='cafe-token' name='token' required autocomplete='off' maxLength={128} defaultValue={invitation?.token} />
        <button type='submit'>Register</button>
      </form>
    </Section>
  )
}

/** Names of these cafes: remembered ones at once, the others asked of each cafe once per page. */
function useCafeNames (ids: string[]): Record<string, string> {
  const { peer } = useDashboard()
  const [names, setNames] = useState<Record<string, string>>({})
  const asked = useRef(new Set<string>())
  const key = ids.join(',')
  useEffect(() => {
    for (const id of ids) {
      const known = knownName(id)
      if (known != null) setNames(n => n[id] === known ? n : { ...n, [id]: known })
      if (asked.current.has(id)) continue
      asked.current.add(id)
      void fetchName(peer, id).then(name => { if (name != null) setNames(n => ({ ...n, [id]: name })) })
    }
  }, [key])
  return names
}

type BackupRow = LiveData['backups'][number]

/** My backups: add a file, and each DAG's state per cafe with a progress bar while it uploads. */
export function Backups () {
  const { peer, live, refresh, say } = useDashboard()
  const shown: BackupRow[] = live?.backups ?? []
  // While bytes are moving, read twice a second (the dashboard's own pace is 3 s). The one
  // reading of the dashboard, one at a time: bars never go back. A cafe that is unreachable
  // ("queued", retried with backoff) does not hurry it.
  const uploading = shown.some(b => b.cafes.some(c => c.status === 'pinning'))
  useEffect(() => {
    if (!uploading) return
    const t = setInterval(refresh, 500)
    return () => { clearInterval(t) }
  }, [uploading, refresh])
  const [busy, setBusy] = useState(false)
  const add = (e: Event): void => {
    const input = e.currentTarget as HTMLInputElement
    const file = input.files?.[0]
    if (file == null) return
    setBusy(true)
    say(`Encrypting and adding ${file.name}…`)
    void (async () => {
      const res = await localFetch(peer, '/api/v0/files', { method: 'POST', body: file })
      const added = await res.json()
      if (!res.ok) throw new Error(`${added?.error?.reason ?? res.status}: ${added?.error?.details ?? ''}`)
      await call(peer, 'POST', '/api/v0/backups', { cid: added.cid })
      say(`${file.name} (${mib(added.bytes)}) is queued for backup on your cafes.`)
      refresh()
    })().catch(err => { say(`Backup failed: ${errorText(err)}`) }).finally(() => { setBusy(false); input.value = '' })
  }
  return (
    <Section id='backup-list' title='My backups'>
      <label for='backup-file'>Back up a file (encrypted before it leaves this device)</label>
      <input id='backup-file' data-testid='backup-file' type='file' disabled={busy} onChange={add} />
      <ul class='plain' data-testid='backup-list'>
        {shown.map(b => (
          <li key={b.cid} data-testid='backup' title={b.cid}>
            <div>{short(b.cid)}</div>
            {b.cafes.map(c => {
              const share = c.status === 'pinned' ? 1 : c.sent != null && c.size != null && c.size > 0 ? c.sent / c.size : 0
              return (
                <div key={c.id} class='backup-state'>
                  <span>{short(c.id)} {c.status}{c.sent != null ? ` (${mib(c.sent)}${c.size != null ? ` of ${mib(c.size)}` : ''} sent)` : ''}{c.error != null ? ` — ${c.error.reason}: ${c.error.details}` : ''}</span>
                  <Bar share={share} label={`Backup of ${short(b.cid)} at ${short(c.id)}`} testId='backup-progress' />
                </div>
              )
            })}
          </li>
        ))}
      </ul>
      {shown.length === 0 && <p>Nothing backed up yet.</p>}
    </Section>
  )
}

/** Recovery: rebuild threads and files from a cafe's backups (a new device after a restore). */
export function Recovery () {
  const { peer, live, refresh, say } = useDashboard()
  const [cafe, setCafe] = useState('')
  const [p, setP] = useState<RecoveryProgress>()
  const cafes = (live?.cafes ?? []).filter(s => s.ended == null)
  const chosen = cafe !== '' ? cafe : cafes[0]?.id ?? ''
  const stop = useRef<() => void>()
  useEffect(() => () => { stop.current?.() }, [])
  const start = (e: Event): void => {
    e.preventDefault()
    if (chosen === '') return
    const path = `/api/v0/cafes/${encodeURIComponent(chosen)}/recover`
    stop.current?.()
    // Progress is read one request at a time, and never after the final answer (a late
    // reading would put "running" back over "done").
    let finished = false
    let timer: ReturnType<typeof setTimeout> | undefined
    const tick = (): void => {
      call<RecoveryProgress>(peer, 'GET', path).then(x => { if (!finished) setP(x) }, () => {}).finally(() => { if (!finished) timer = setTimeout(tick, 300) })
    }
    stop.current = () => { finished = true; clearTimeout(timer) }
    timer = setTimeout(tick, 300)
    say('Recovering…')
    call<RecoveryProgress>(peer, 'POST', path).then(done => {
      stop.current?.()
      setP(done)
      say(done.state === 'done' ? 'Recovery finished.' : `Recovery failed: ${done.error?.details ?? ''}`)
      refresh()
    }, err => {
      stop.current?.()
      setP(prev => prev == null ? prev : { ...prev, state: 'failed', error: { reason: 'RECOVERY_FAILED', details: errorText(err) } })
      say(`Recovery failed: ${errorText(err)}`)
    })
  }
  return (
    <Section id='recovery' title='Recover from a cafe'>
      <form class='inline' onSubmit={start}>
        <label for='recover-cafe'>Cafe</label>
        <select id='recover-cafe' data-testid='recover-cafe' value={chosen} onChange={e => { setCafe((e.currentTarget as HTMLSelectElement).value) }}>
          {cafes.map(s => <option key={s.id} value={s.id}>{short(s.id)}</option>)}
        </select>
        <button type='submit' data-testid='recover' disabled={chosen === '' || p?.state === 'running'}>Recover my data</button>
      </form>
      <div data-testid='recovery'>
        {p == null
          ? <p>{cafes.length === 0 ? 'On a new device: restore your recovery phrase (Profile), register with your cafe (My cafes), then recover here.' : 'Fetches every backup and thread this account keeps at the cafe and checks each block.'}</p>
          : <>
            <p data-testid='recovery-state'>{p.state}: {p.dagsDone} of {p.dags} backups, {p.files} files, {p.threads.length} threads, {p.blocks} blocks ({mib(p.bytes)}{p.totalBytes > 0 ? ` of ${mib(p.totalBytes)}` : ''}){p.error != null ? ` — ${p.error.details}` : ''}</p>
            <Bar share={p.state === 'done' ? 1 : p.totalBytes > 0 ? p.bytes / p.totalBytes : p.dags > 0 ? p.dagsDone / p.dags : 0} label='Recovery progress' testId='recovery-progress' />
          </>}
      </div>
    </Section>
  )
}

type Received = Array<{ from: string, body: string, id: string, received: string }>

/** Messages: send to an account address; what arrived shows (and counts as read) while the view is open. */
export function Messages ({ active }: { active: boolean }) {
  const { peer, live, refresh, say, writeTo } = useDashboard()
  const [received, setReceived] = useState<Received>()
  const unread = live?.inbox.unread ?? 0
  useEffect(() => {
    if (!active) return
    call<Received>(peer, 'GET', '/api/v0/messages').then(rows => { setReceived(rows); if (unread > 0) refresh() }, err => { say(errorText(err)) })
  }, [peer, active, unread > 0, live?.inbox.received])
  const send = (e: Event): void => {
    e.preventDefault()
    const form = e.currentTarget as HTMLFormElement
    const f = new FormData(form)
    say('Sending…')
    call<{ route: string }>(peer, 'POST', '/api/v0/messages', { to: String(f.get('to')).trim(), body: String(f.get('body')) }).then(r => {
      say(r.route === 'direct' ? 'Delivered.' : r.route === 'inbox' ? 'Left in their cafe inbox.' : 'Queued: it goes out when their peer or cafes can be reached.')
      ;(form.elements.namedItem('body') as HTMLTextAreaElement).value = ''
      refresh()
    }, err => { say(`Not sent: ${errorText(err)}`) })
  }
  const outbox = live?.inbox.outbox ?? 0
  return (
    <>
      <Section id='compose' title='Send'>
        <form onSubmit={send} key={writeTo}>
          <label for='msg-to'>To (account address, z6Mk…)</label>
          <input id='msg-to' name='to' data-testid='msg-to' maxLength={64} autocomplete='off' required pattern='z6Mk[1-9A-HJ-NP-Za-km-z]+' defaultValue={writeTo} />
          <label for='msg-text'>Message</label>
          <textarea id='msg-text' name='body' data-testid='msg-text' maxLength={4000} rows={3} required />
          <div class='actions'><button type='submit' data-testid='send-message'>Send</button></div>
        </form>
        <p data-testid='outbox' class='message'>{outbox > 0 ? `${outbox} waiting to be delivered (retried until a peer or cafe of the recipient accepts)` : ''}</p>
      </Section>
      <Section id='received' title='Received'>
        {live?.inbox.problem != null && <p data-testid='receive-problem' role='alert' class='message'>{`Messages are waiting at your cafes (${live.inbox.problem.held}): ${live.inbox.problem.details}`}</p>}
        {received?.length === 0 && <p>Nothing yet.</p>}
        <ol data-testid='message-list' class='messages'>
          {received?.map(m => <li key={`${m.from}${m.id}`} title={m.from}><time dateTime={m.received}>{clock(m.received)}</time> <b>{short(m.from)}</b>: <bdi>{m.body}</bdi></li>)}
        </ol>
      </Section>
    </>
  )
}

interface Found { address: string, name: string }

/** Lines of NDJSON from a stream body, read with a reader (streams are not async-iterable in every browser). */
async function * ndjson (body: ReadableStream<Uint8Array>): AsyncGenerator<any> {
  const reader = body.getReader()
  const decoder = new TextDecoder()
  let buffer = ''
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      buffer += decoder.decode(value, { stream: true })
      let nl: number
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl)
        buffer = buffer.slice(nl + 1)
        if (line.trim() !== '') yield JSON.parse(line)
      }
    }
  } finally {
    reader.releaseLock()
  }
}

/** Search: results appear as each cafe answers (an NDJSON stream from the local API). */
export function Search () {
  const { peer, compose } = useDashboard()
  const [results, setResults] = useState<Found[]>([])
  const [state, setState] = useState('')
  const [busy, setBusy] = useState(false)
  // A new search stops the last one: its late answers must not land in the new list.
  const running = useRef<AbortController>()
  useEffect(() => () => { running.current?.abort() }, [])
  // The box is open: dial the cafes now, while the user types (a cold query waits on those dials).
  useEffect(() => { void localFetch(peer, '/api/v0/search/warm', { method: 'POST' }).then(async r => { await r.body?.cancel() }).catch(() => {}) }, [])
  const search = (e: Event): void => {
    e.preventDefault()
    const name = String(new FormData(e.currentTarget as HTMLFormElement).get('name')).trim()
    running.current?.abort()
    const abort = new AbortController()
    running.current = abort
    const mine = (): boolean => running.current === abort
    setResults([])
    setBusy(true)
    setState('Asking the cafes…')
    void (async () => {
      const res = await localFetch(peer, `/api/v0/search?stream=1&wait=3000&name=${encodeURIComponent(name)}`, { signal: abort.signal })
      if (!res.ok || res.body == null) { if (mine()) setState(`Search failed: ${(await res.json().catch(() => null))?.error?.details ?? res.status}`); return }
      const seen = new Set<string>()
      for await (const line of ndjson(res.body)) {
        if (!mine()) break
        if (line.done === true) {
          setState(line.error != null ? `Search failed: ${line.error.details}` : `${line.results.length} found; ${line.answered.length} of ${line.asked} cafes answered in ${line.ms} ms`)
          continue
        }
        const added = ((line.added ?? []) as Found[]).filter(c => !seen.has(c.address))
        for (const c of added) seen.add(c.address)
        if (added.length > 0) setResults(r => [...r, ...added])
      }
    })().catch(err => { if (mine()) setState(`Search failed: ${errorText(err)}`) }).finally(() => { if (mine()) setBusy(false) })
  }
  return (
    <Section id='find'>
      <form role='search' onSubmit={search}>
        <label for='search-name'>Name</label>
        <input type='search' id='search-name' name='name' data-testid='search-name' maxLength={64} autocomplete='off' required />
        <div class='actions'><button type='submit' disabled={busy}>Search</button></div>
      </form>
      <p data-testid='search-state' role='status'>{state}</p>
      <ul data-testid='search-results' class='plain results'>
        {results.map(c => (
          <li key={c.address} data-testid='search-result' title={c.address}>
            {/* Names come from strangers: isolated, so one cannot reverse the text after it. */}
            <bdi>{c.name}</bdi> — <span class='secret'>{short(c.address)}</span>{' '}
            <button type='button' aria-label={`Write to ${c.name}`} onClick={() => { compose(c.address) }}>Message</button>
          </li>
        ))}
      </ul>
    </Section>
  )
}

/** My profile (the public contact others find) and the recovery phrase, shown only on request. */
export function Profile ({ active }: { active: boolean }) {
  const { peer, live, say } = useDashboard()
  const [name, setName] = useState<string>()
  const [phrase, setPhrase] = useState('')
  const shown = useRef<HTMLParagraphElement>(null)
  // The phrase leaves the screen with the view, and when the tab is hidden.
  useEffect(() => { if (!active) setPhrase('') }, [active])
  useEffect(() => {
    const hide = (): void => { if (document.visibilityState === 'hidden') setPhrase('') }
    document.addEventListener('visibilitychange', hide)
    return () => { document.removeEventListener('visibilitychange', hide) }
  }, [])
  useEffect(() => { if (phrase !== '') shown.current?.focus() }, [phrase])
  useEffect(() => { call<{ name: string }>(peer, 'GET', '/api/v0/profile').then(p => { setName(p.name) }, () => { setName('') }) }, [peer])
  const save = (e: Event): void => {
    e.preventDefault()
    const next = String(new FormData(e.currentTarget as HTMLFormElement).get('name'))
    call<{ published: string[] }>(peer, 'PUT', '/api/v0/profile', { name: next }).then(r => { setName(next); say(`Profile saved and published to ${r.published.length} cafe(s).`) }, err => { say(errorText(err)) })
  }
  const reveal = (): void => {
    if (!confirm('Anyone who sees these words can read your backups and act as you. Show them now?')) return
    call<{ mnemonic: string }>(peer, 'GET', '/api/v0/account/mnemonic').then(m => { setPhrase(m.mnemonic) }, err => { say(errorText(err)) })
  }
  return (
    <Section id='me' title='My profile'>
      {name != null && (
        <form class='inline' onSubmit={save}>
          <label for='profile-name'>Name others find me by</label>
          <input id='profile-name' name='name' data-testid='profile-name' maxLength={64} required defaultValue={name} />
          <button type='submit'>Save</button>
        </form>
      )}
      <p>Account: <span class='secret' data-testid='my-address'>{live?.info.address ?? '…'}</span></p>
      <h3>Recovery phrase</h3>
      <p>Write it down and keep it offline: with it alone a new device recovers everything this account keeps at its cafes.</p>
      <button type='button' data-testid='reveal-mnemonic' onClick={reveal}>Show recovery phrase</button>
      {phrase !== '' && <button type='button' onClick={() => { setPhrase('') }}>Hide it</button>}
      {/* Not a live region: read when the owner moves to it, never aloud on its own. */}
      <p data-testid='mnemonic' class='secret phrase' tabIndex={-1} ref={shown}>{phrase}</p>
    </Section>
  )
}

/** A new device: take over an account from its recovery phrase (then register and recover). */
export function Restore () {
  const { peer, live, refresh, say } = useDashboard()
  const sessions = (live?.cafes ?? []).length
  const restore = (e: Event): void => {
    e.preventDefault()
    const form = e.currentTarget as HTMLFormElement
    const words = String(new FormData(form).get('mnemonic')).trim().toLowerCase().split(/\s+/).join(' ')
    if (!confirm('This device\'s own account is replaced by the one of these words. The current one is gone from this device unless its own recovery phrase was written down. Continue?')) return
    call<{ address: string }>(peer, 'POST', '/api/v0/account', { mnemonic: words }).then(r => {
      form.reset()
      say(`This device now holds the account ${short(r.address)}. Register with your cafe (an invitation link works again), then recover your data under Backups.`)
      refresh()
    }, err => { say(`Not restored: ${errorText(err)}`) })
  }
  return (
    <Section id='restore' title='Use my account on this device'>
      {sessions > 0
        ? <p>Deregister from this device's cafes first (My cafes): their sessions belong to the current account.</p>
        : <p>Enter the 12 or 24 words of an account's recovery phrase.</p>}
      <form onSubmit={restore}>
        <label for='restore-words'>Recovery phrase</label>
        <textarea id='restore-words' name='mnemonic' data-testid='restore-words' rows={2} required autocomplete='off' spellcheck={false} maxLength={400} disabled={sessions > 0} />
        <div class='actions'><button type='submit' data-testid='restore' disabled={sessions > 0}>Restore account</button></div>
      </form>
    </Section>
  )
}
