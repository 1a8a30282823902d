/**
 * Works around a race in @libp2p/webrtc 6.0.33's browser-to-browser dial (seen in 1 of ~8
 * dials; each one cost the 3 s dial timeout and a redial, and two in a row failed a request).
 *
 * The dialler creates a data channel labelled `init` before its offer. Once the connection is
 * up it checks `readyState === 'open'` or waits for `open`, then closes the channel and waits
 * for `close`. The answering side closes `init` as soon as it sees it. When the dialler's
 * `open`, `closing` and `close` all fire before its own "connected" step runs (logged: all
 * three within 1 ms, then "initiator connected", "wait for init channel to open", and "signal
 * timed out" 3 s later), it finds the channel `closed` and waits for an `open` that has passed.
 *
 * A channel the far side closed was open there, so the connection is up: until the dialler
 * closes it, an `init` channel closed by the far side reads as "open" (with an `open` event if
 * none fired), and the dialler's `close()` then fires `close` again for its waiter.
 * Only channels labelled `init` that this page creates are touched.
 */
export function fixWebRTCInitChannelRace (): void {
  const Pc = (globalThis as { RTCPeerConnection?: typeof RTCPeerConnection }).RTCPeerConnection
  if (Pc == null) return
  const proto = Pc.prototype as RTCPeerConnection & { __lightcafeInitFix?: true }
  if (proto.__lightcafeInitFix === true) return
  proto.__lightcafeInitFix = true
  const create = proto.createDataChannel
  proto.createDataChannel = function (this: RTCPeerConnection, label: string, options?: RTCDataChannelInit): RTCDataChannel {
    const channel = create.call(this, label, options)
    if (label === 'init') watchInitChannel(channel)
    return channel
  }
}

function watchInitChannel (channel: RTCDataChannel): void {
  let opened = false
  let closedByPeer = false
  let closeCalled = false
  channel.addEventListener('open', () => { opened = true })
  channel.addEventListener('close', () => {
    if (closeCalled) return
    closedByPeer = true
    if (!opened) { opened = true; channel.dispatchEvent(new Event('open')) }
  })
  const state = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(channel), 'readyState')
  Object.defineProperty(channel, 'readyState', {
    configurable: true,
    get: () => closedByPeer && !closeCalled ? 'open' : state?.get?.call(channel)
  })
  const close = channel.close.bind(channel)
  channel.close = () => {
    closeCalled = true
    if (!closedByPeer) { close(); return }
    // Already closed: whoever waits for `close` after calling this hears it on the next task.
    setTimeout(() => { channel.dispatchEvent(new Event('close')) }, 0)
  }
}
