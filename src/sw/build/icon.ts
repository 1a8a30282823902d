import { encodePng } from './png.ts'

/**
 * Build-time only (Node): the app icon, described once as a few shapes in a unit square and
 * rendered both to SVG and to PNG. The background fills the square and every other shape stays
 * inside the central circle of radius 0.4, so the same art works as a "maskable" icon.
 */

type Rgba = readonly [number, number, number, number]
type Shape =
  | { kind: 'rect', x0: number, y0: number, x1: number, y1: number, r: number, fill: Rgba }
  | { kind: 'ring', cx: number, cy: number, inner: number, outer: number, fill: Rgba }
  | { kind: 'polygon', points: ReadonlyArray<readonly [number, number]>, fill: Rgba }

export const ICON_BACKGROUND: Rgba = [0x3b, 0x2f, 0x2a, 255]
const CREAM: Rgba = [0xf3, 0xe9, 0xdc, 255]
const STEAM: Rgba = [0xf3, 0xe9, 0xdc, 170]
const AMBER: Rgba = [0xe8, 0x9a, 0x2c, 255]

/** Drawn in order, later shapes on top. */
export const ICON_SHAPES: readonly Shape[] = [
  { kind: 'rect', x0: 0, y0: 0, x1: 1, y1: 1, r: 0, fill: ICON_BACKGROUND },
  { kind: 'rect', x0: 0.395, y0: 0.22, x1: 0.43, y1: 0.34, r: 0.0175, fill: STEAM },
  { kind: 'rect', x0: 0.485, y0: 0.19, x1: 0.52, y1: 0.34, r: 0.0175, fill: STEAM },
  { kind: 'rect', x0: 0.575, y0: 0.22, x1: 0.61, y1: 0.34, r: 0.0175, fill: STEAM },
  { kind: 'ring', cx: 0.665, cy: 0.52, inner: 0.045, outer: 0.085, fill: CREAM },
  { kind: 'rect', x0: 0.3, y0: 0.38, x1: 0.69, y1: 0.7, r: 0.07, fill: CREAM },
  { kind: 'rect', x0: 0.22, y0: 0.72, x1: 0.78, y1: 0.765, r: 0.0225, fill: CREAM },
  { kind: 'polygon', points: [[0.53, 0.42], [0.42, 0.565], [0.49, 0.565], [0.455, 0.665], [0.575, 0.51], [0.505, 0.51], [0.545, 0.42]], fill: AMBER }
]

function bounds (s: Shape): [number, number, number, number] {
  switch (s.kind) {
    case 'rect': return [s.x0, s.y0, s.x1, s.y1]
    case 'ring': return [s.cx - s.outer, s.cy - s.outer, s.cx + s.outer, s.cy + s.outer]
    case 'polygon': {
      const xs = s.points.map(p => p[0])
      const ys = s.points.map(p => p[1])
      return [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)]
    }
  }
}

function inside (s: Shape, x: number, y: number): boolean {
  switch (s.kind) {
    case 'rect': {
      if (x < s.x0 || x > s.x1 || y < s.y0 || y > s.y1) return false
      // Distance to the inner rectangle whose corners are the corner circles' centres.
      const dx = Math.max(s.x0 + s.r - x, 0, x - (s.x1 - s.r))
      const dy = Math.max(s.y0 + s.r - y, 0, y - (s.y1 - s.r))
      return dx * dx + dy * dy <= s.r * s.r
    }
    case 'ring': {
      const d = Math.hypot(x - s.cx, y - s.cy)
      return d >= s.inner && d <= s.outer
    }
    case 'polygon': {
      let odd = false
      const p = s.points
      for (let i = 0, j = p.length - 1; i < p.length; j = i++) {
        const [xi, yi] = p[i]!
        const [xj, yj] = p[j]!
        if ((yi > y) !== (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi) odd = !odd
      }
      return odd
    }
  }
}

/** RGBA pixels of the icon at `size`×`size`, anti-aliased by 4×4 supersampling. */
export function renderIcon (size: number, shapes: readonly Shape[] = ICON_SHAPES): Uint8Array {
  const n = 4
  const out = new Uint8Array(size * size * 4)
  const acc = new Float64Array(4)
  const boxes = shapes.map(bounds)
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      acc.fill(0)
      // Only the shapes whose bounds touch this pixel.
      const here = shapes.filter((_s, i) => {
        const [x0, y0, x1, y1] = boxes[i]!
        return x1 * size >= px && x0 * size <= px + 1 && y1 * size >= py && y0 * size <= py + 1
      })
      for (let sy = 0; sy < n; sy++) {
        for (let sx = 0; sx < n; sx++) {
          const x = (px + (sx + 0.5) / n) / size
          const y = (py + (sy + 0.5) / n) / size
          // Composite the shapes under this sample, premultiplied, back to front.
          const sample = [0, 0, 0, 0]
          for (const s of here) {
            if (!inside(s, x, y)) continue
            const fa = s.fill[3] / 255
            for (let c = 0; c < 3; c++) sample[c] = s.fill[c]! * fa + sample[c]! * (1 - fa)
            sample[3] = fa + sample[3]! * (1 - fa)
          }
          for (let c = 0; c < 4; c++) acc[c]! += sample[c]!
        }
      }
      const k = (py * size + px) * 4
      const alpha = acc[3]! / (n * n)
      for (let c = 0; c < 3; c++) out[k + c] = alpha > 0 ? Math.round(acc[c]! / (n * n) / alpha) : 0
      out[k + 3] = Math.round(alpha * 255)
    }
  }
  return out
}

export function iconPng (size: number): Uint8Array {
  return encodePng(size, size, renderIcon(size))
}

function css ([r, g, b, a]: Rgba): string {
  return a === 255 ? `rgb(${r} ${g} ${b})` : `rgb(${r} ${g} ${b} / ${(a / 255).toFixed(3)})`
}

/** The same icon as an SVG document (for `rel=icon` and the manifest's scalable entry). */
export function iconSvg (shapes: readonly Shape[] = ICON_SHAPES): string {
  const u = (v: number): string => String(Math.round(v * 512 * 100) / 100)
  const body = shapes.map(s => {
    switch (s.kind) {
      case 'rect': return `<rect x="${u(s.x0)}" y="${u(s.y0)}" width="${u(s.x1 - s.x0)}" height="${u(s.y1 - s.y0)}" rx="${u(s.r)}" fill="${css(s.fill)}"/>`
      case 'ring': return `<circle cx="${u(s.cx)}" cy="${u(s.cy)}" r="${u((s.inner + s.outer) / 2)}" fill="none" stroke="${css(s.fill)}" stroke-width="${u(s.outer - s.inner)}"/>`
      case 'polygon': return `<polygon points="${s.points.map(([x, y]) => `${u(x)},${u(y)}`).join(' ')}" fill="${css(s.fill)}"/>`
    }
  })
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 512 512">${body.join('')}</svg>\n`
}

/** The icon files the build emits beside the app, by path. */
export function iconFiles (): Map<string, { type: string, source: () => Uint8Array | string }> {
  const once = <T>(make: () => T): () => T => {
    let made: T | undefined
    return () => (made ??= make())
  }
  return new Map([
    ['icon.svg', { type: 'image/svg+xml', source: once(() => iconSvg()) }],
    ['icon-192.png', { type: 'image/png', source: once(() => iconPng(192)) }],
    ['icon-512.png', { type: 'image/png', source: once(() => iconPng(512)) }]
  ])
}
