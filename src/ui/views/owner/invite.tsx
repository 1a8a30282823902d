import { useEffect, useRef, useState } from 'preact/hooks'
import { renderSVG } from 'uqr'
import { errorText } from '../../format.ts'
import { joinLink } from '../../invitation.ts'
import { call } from '../../local-api.ts'
import { useDashboard } from '../../live.ts'
import { Section } from '../section.tsx'

/** How long an invitation stays on screen: a tablet on a counter is seen by passers-by. */
const INVITE_SHOWN_MS = 10 * 60_000

/** "Invite a client": a one-use token as a QR code and a link that registers in one step. */
export function Invite ({ active }: { active: boolean }) {
  const { peer, live, say, lan } = useDashboard()
  const [invite, setInvite] = useState<{ id: string, url: string }>()
  const link = useRef<HTMLAnchorElement>(null)
  useEffect(() => { if (invite != null) link.current?.focus() }, [invite])
  // Off the screen once used, after a while, or when the owner leaves the view.
  const used = invite != null && live?.tokens.some(t => t.id === invite.id && (t.usedBy != null || t.revoked != null)) === true
  useEffect(() => { if (used) { setInvite(undefined); say('The invitation was used: that device is now a client.') } }, [used])
  useEffect(() => { if (!active) setInvite(undefined) }, [active])
  useEffect(() => {
    if (invite == null) return
    const t = setTimeout(() => { setInvite(undefined) }, INVITE_SHOWN_MS)
    return () => { clearTimeout(t) }
  }, [invite])
  const create = (): void => {
    call<{ id: string, token: string }>(peer, 'POST', '/api/v0/tokens').then(({ id, token }) => {
      // In LAN mode the link names the LAN's https origin and relays, reachable from a phone.
      setInvite({ id, url: joinLink(location.href, peer.node.libp2p.peerId.toString(), token, lan) })
      say('Scan the code or open the link on the other device; the invitation works for one account.')
    }, err => { say(`Could not create an invitation: ${errorText(err)}`) })
  }
  const url = invite?.url
  return (
    <Section id='invite' title='Invite a client'>
      <button type='button' data-testid='invite' onClick={create}>{invite == null ? 'Invite a client' : 'New invitation'}</button>
      <p><a ref={link} data-testid='invite-link' href={url}>{url}</a></p>
      {/* uqr draws the code as SVG paths from the link alone: no markup of ours goes in. */}
      <div data-testid='invite-qr' class='qr' role='img' aria-label='QR code of the invitation link' dangerouslySetInnerHTML={{ __html: url != null ? renderSVG(url, { border: 2 }) : '' }} />
      {invite != null && <p>Shown until it is used, for 10 minutes at most; it stays valid until then (revoke it under Clients).</p>}
    </Section>
  )
}
