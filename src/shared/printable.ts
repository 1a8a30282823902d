/**
 * Text from strangers (request paths, peer ids, error messages) goes into our logs, which a
 * terminal or journald shows: a newline there forges a line, an escape sequence drives the
 * terminal, a bidirectional override reorders what is read. Every log line goes through
 * `printableLog`, which writes such characters as escapes (`\n`, `\x1b`, `\u202e`).
 */

// C0 controls, DEL, C1 controls, line and paragraph separators, bidirectional controls.
// eslint-disable-next-line no-control-regex
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g
const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' }

/** `text` with every control character written as an escape: one line, nothing for a terminal to obey. */
export function printable (text: string): string {
  return text.replace(UNPRINTABLE, c => NAMED[c] ?? (c.charCodeAt(0) <= 0xff ? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}` : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`))
}

/** A log that writes each line printable. Every process's log (relay, app server, Node cafe) is one. */
export function printableLog (write: (line: string) => void): (line: string) => void {
  return line => { write(printable(line)) }
}
