import { relayProblem } from '../../relay-problems.ts'
import { useDashboard } from '../../live.ts'
import { Section } from '../section.tsx'
import { PATH_LABEL } from '../../path-words.ts'
import { outsideReach } from '../../reach-outside.ts'

/** What a browser without WebRTC (no RTCPeerConnection) can and cannot reach. */
function noWebRtc (cafe: boolean): string {
  return 'This browser has no WebRTC, so no device connects to this one directly: cafes in a browser tab, and devices messaging this one, are reached through the relay, within the limits its owner sets; ' +
    'cafes with a WebSocket address (a Node cafe) are reached directly.' +
    (cafe ? ' Clients reach this cafe only through the relay, within its limits: for a cafe, use a browser with WebRTC or a Node cafe.' : '')
}

/** How other devices reach this one, in plain words, and why a relay cannot be reached. */
export function Reachability () {
  const { live, setup } = useDashboard()
  const relays = live?.info.relays ?? []
  const reserved = relays.filter(r => r.reserved).length
  const conns = live?.conns ?? []
  const peers = new Set(conns.filter(c => c.transport === 'webrtc').map(c => c.peerId)).size
  const byPath = (['direct', 'nat', 'turn', 'relay'] as const).map(p => [p, new Set(conns.filter(c => c.path === p && c.transport !== 'websockets').map(c => c.peerId)).size] as const).filter(([, n]) => n > 0)
  const problems = relays.flatMap(r => relayProblem(r, setup) ?? [])
  const line = live == null
    ? '…'
    : relays.length === 0
      ? 'No relay is set up, so other devices cannot reach this one.'
      : reserved > 0
        ? `Other devices can reach this one (through ${reserved === 1 ? 'a relay' : `${reserved} relays`}); ${peers === 0 ? 'none is' : peers === 1 ? '1 device is' : `${peers} devices are`} connected over WebRTC.`
        : relays.some(r => r.cause != null)
          ? 'Other devices cannot reach this one: no relay answers (why below); trying again…'
          : 'Other devices cannot reach this one yet: connecting to the relay…'
  return (
    <Section id='reachability' title='Reachability'>
      <p data-testid='reachability'>{line}</p>
      {live != null && reserved > 0 && live.info.webrtc !== false && <p data-testid='reach-outside'>Reachable {outsideReach(live.info.iceServers ?? [], conns.map(c => c.path))}.</p>}
      {byPath.length > 0 && <p data-testid='reach-paths'>Connected now: {byPath.map(([p, n]) => `${n} ${PATH_LABEL[p]}`).join(', ')}.</p>}
      {live?.info.webrtc === false && <p data-testid='no-webrtc'>{noWebRtc(live.info.cafe.enabled)}</p>}
      {problems.length > 0 && (
        <ul>
          {problems.map(p => <li key={p.relay} data-testid='relay-cause' title={p.relay}>{p.text}{p.link != null && <> <a href={p.link}>Open the setup page</a></>}</li>)}
        </ul>
      )}
    </Section>
  )
}
