import { existsSync } from 'node:fs'
import type { LaunchOptions } from '@playwright/test'

/** Debian's Chromium: test tools cannot download browsers here. */
export function chromiumPath (): string {
  const path = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
  if (!existsSync(path)) throw new Error(`Chromium not found at ${path}; install Debian's chromium or set CHROMIUM_PATH`)
  return path
}

export function chromiumLaunchOptions (): LaunchOptions {
  return {
    executablePath: chromiumPath(),
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      // Without these Chromium keeps dialling Google hosts, which this machine refuses.
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      // ICE needs real host candidates; mDNS names would need an mDNS responder.
      '--disable-features=WebRtcHideLocalIpsWithMdns'
    ]
  }
}
