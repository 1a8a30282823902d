/**
 * A typed stand-in for a `T` in a unit test: the members given, each checked against its real
 * signature, and nothing else. Any other member may be read and passed along, but using it
 * (calling it, or reading from it) throws, naming it: a test that reaches one depends on what
 * it never set up. Never imported by product code.
 */
export function stub<T extends object> (given: Partial<T> = {}, name = 'stub'): T {
  return new Proxy(given, {
    get (target, key, receiver) {
      if (key in target || !usable(key)) return Reflect.get(target, key, receiver)
      return absent(`${name}.${String(key)}`)
    }
  }) as T
}

// `then` is how `await` asks whether a value is a promise; symbols are how runtimes inspect one.
const usable = (key: string | symbol): key is string => typeof key === 'string' && key !== 'then'

/** A member a stub was not given: it throws when called or read from. */
function absent (path: string): unknown {
  const fail = (): never => { throw new Error(`${path} was not given to the stub`) }
  return new Proxy(fail, { apply: fail, get: (_t, key) => usable(key) ? fail() : undefined })
}
