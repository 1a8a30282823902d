import { InvalidInputError } from './errors.ts'

/** Reads a request body as one JSON object; 400 with a reason for anything else. Size is bounded by the caller's body limit. */
export async function readJsonObject (req: Request): Promise<Record<string, unknown>> {
  const type = req.headers.get('content-type') ?? ''
  if (!type.includes('application/json')) throw new InvalidInputError('INVALID_CONTENT_TYPE', 'send JSON with Content-Type: application/json')
  let value: unknown
  try { value = JSON.parse(await req.text()) } catch { throw new InvalidInputError('INVALID_JSON', 'the body is not valid JSON') }
  if (value == null || typeof value !== 'object' || Array.isArray(value)) throw new InvalidInputError('INVALID_JSON', 'the body must be a JSON object')
  return value as Record<string, unknown>
}

/** A required string field of bounded length; the error names the field. */
export function stringField (name: string, value: unknown, max: number): string {
  if (typeof value !== 'string') throw new InvalidInputError('INVALID_FIELD', `${name} must be a string`)
  if (value.length === 0 || value.length > max) throw new InvalidInputError('INVALID_FIELD', `${name} must be 1 to ${max} characters`)
  return value
}
