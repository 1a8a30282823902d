import { InvalidInputError, LightcafeError } from './errors.ts'
import { bodyOf } from './request-body.ts'

/** Reads at most `max` bytes of a body, counting what really arrives (a Content-Length header is only a claim). */
export async function readBounded (req: Request, max: number): Promise<Uint8Array> {
  const out = new Uint8Array(Math.min(max, 64 * 1024))
  let buf = out
  let size = 0
  const body = bodyOf(req)
  if (body == null) return new Uint8Array(0)
  const reader = body.getReader()
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      if (size + value.byteLength > max) {
        await reader.cancel().catch(() => {})
        throw new LightcafeError('BODY_TOO_LARGE', `bodies are limited to ${max} bytes`)
      }
      if (size + value.byteLength > buf.length) {
        const grown = new Uint8Array(Math.min(max, Math.max(buf.length * 2, size + value.byteLength)))
        grown.set(buf.subarray(0, size))
        buf = grown
      }
      buf.set(value, size)
      size += value.byteLength
    }
  } finally {
    reader.releaseLock()
  }
  return buf.subarray(0, size)
}

/**
 * True when a Content-Type is exactly `application/json`, parameters (charset) aside. Nothing
 * looser: `text/plain;application/json` is a type a web page may send to any site without a
 * CORS preflight, so taking it as JSON would let any page drive anonymous routes.
 */
export function isJsonType (contentType: string | null): boolean {
  return contentType != null && contentType.split(';')[0].trim().toLowerCase() === 'application/json'
}

/** Reads a request body as one JSON object of at most `max` bytes; 400/413 with a reason for anything else. */
export async function readJsonObject (req: Request, max: number): Promise<Record<string, unknown>> {
  if (!isJsonType(req.headers.get('content-type'))) throw new InvalidInputError('INVALID_CONTENT_TYPE', 'send JSON with Content-Type: application/json')
  const bytes = await readBounded(req, max)
  let value: unknown
  try { value = JSON.parse(new TextDecoder().decode(bytes)) } catch { throw new InvalidInputError('INVALID_JSON', 'the body is not valid JSON') }
  if (value == null || typeof value !== 'object' || Array.isArray(value)) throw new InvalidInputError('INVALID_JSON', 'the body must be a JSON object')
  return value as Record<string, unknown>
}

/** A required string field of bounded length; the error names the field. */
export function stringField (name: string, value: unknown, max: number): string {
  if (typeof value !== 'string') throw new InvalidInputError('INVALID_FIELD', `${name} must be a string`)
  if (value.length === 0 || value.length > max) throw new InvalidInputError('INVALID_FIELD', `${name} must be 1 to ${max} characters`)
  return value
}
