import { inflateSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { ICON_BACKGROUND, iconSvg, renderIcon } from './icon.ts'
import { crc32, encodePng } from './png.ts'

function chunks (png: Uint8Array): Array<{ type: string, data: Uint8Array, crcOk: boolean }> {
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength)
  const out = []
  for (let at = 8; at < png.length;) {
    const length = view.getUint32(at)
    const type = String.fromCharCode(...png.subarray(at + 4, at + 8))
    const data = png.subarray(at + 8, at + 8 + length)
    out.push({ type, data, crcOk: view.getUint32(at + 8 + length) === crc32(png.subarray(at + 4, at + 8 + length)) })
    at += 12 + length
  }
  return out
}

describe('PNG encoder', () => {
  it('computes the standard CRC-32', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926)
  })

  it('writes a valid RGBA PNG whose pixels inflate back unchanged', () => {
    const w = 3
    const h = 2
    const rgba = Uint8Array.from({ length: w * h * 4 }, (_, i) => (i * 37) & 0xff)
    const png = encodePng(w, h, rgba)
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
    const cs = chunks(png)
    expect(cs.map(c => c.type)).toEqual(['IHDR', 'IDAT', 'IEND'])
    expect(cs.every(c => c.crcOk)).toBe(true)
    const ihdr = new DataView(cs[0]!.data.buffer, cs[0]!.data.byteOffset)
    expect([ihdr.getUint32(0), ihdr.getUint32(4), cs[0]!.data[8], cs[0]!.data[9]]).toEqual([w, h, 8, 6])
    const raw = inflateSync(cs[1]!.data)
    expect(raw.length).toBe((w * 4 + 1) * h)
    for (let y = 0; y < h; y++) {
      expect(raw[y * (w * 4 + 1)]).toBe(0)
      expect([...raw.subarray(y * (w * 4 + 1) + 1, (y + 1) * (w * 4 + 1))]).toEqual([...rgba.subarray(y * w * 4, (y + 1) * w * 4)])
    }
  })

  it('refuses a pixel buffer of the wrong size', () => {
    expect(() => encodePng(2, 2, new Uint8Array(15))).toThrow(RangeError)
  })
})

describe('app icon', () => {
  it('is maskable: opaque everywhere, and only background outside the central safe circle', () => {
    const size = 96
    const px = renderIcon(size)
    let art = 0
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const k = (y * size + x) * 4
        expect(px[k + 3]).toBe(255)
        const isBackground = [0, 1, 2].every(c => px[k + c] === ICON_BACKGROUND[c])
        if (!isBackground) {
          art++
          // Maskable icons keep their content within a circle of 40% of the size around the centre.
          expect(Math.hypot(x + 0.5 - size / 2, y + 0.5 - size / 2)).toBeLessThanOrEqual(0.4 * size)
        }
      }
    }
    expect(art).toBeGreaterThan(size * size / 10)
  })

  it('has an SVG twin drawn from the same shapes', () => {
    const svg = iconSvg()
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" viewBox="0 0 512 512">/)
    expect(svg.match(/<(rect|circle|polygon) /g)?.length).toBe(8)
  })
})
