/**
 * The few assertions the checks use: a check throws {@link Failure} to fail (its message is
 * the "why" the runner prints) and {@link Skip} when it cannot run against this server.
 */

/** Thrown by a check that cannot run here; the runner prints the reason. */
export class Skip extends Error {}

/** Thrown by the assertions below. */
export class Failure extends Error {}

export function assert(condition: unknown, why: string): asserts condition {
  if (!condition) throw new Failure(why)
}

function show(value: unknown): string {
  const text = JSON.stringify(value)
  return text === undefined ? String(value) : text.length > 600 ? `${text.slice(0, 600)}…` : text
}

/** Deep equality (Bun.deepEquals), failing with both values. */
export function equal(actual: unknown, expected: unknown, what: string): void {
  if (!Bun.deepEquals(actual, expected)) {
    throw new Failure(`${what}: expected ${show(expected)}, got ${show(actual)}`)
  }
}

/** Whether `actual` holds every field of `expected` (recursively; arrays element by element). */
export function contains(actual: unknown, expected: unknown): boolean {
  if (expected === null || typeof expected !== 'object') return Bun.deepEquals(actual, expected)
  if (actual === null || typeof actual !== 'object') return false
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length) return false
    return expected.every((e, i) => contains(actual[i], e))
  }
  const a = actual as Record<string, unknown>
  return Object.entries(expected).every(([k, v]) => contains(a[k], v))
}

/** Fails unless `actual` holds every field of `expected` (like toMatchObject). */
export function like(actual: unknown, expected: unknown, what: string): void {
  if (!contains(actual, expected)) {
    throw new Failure(`${what}: expected at least ${show(expected)}, got ${show(actual)}`)
  }
}

/** A 12-digit zero-padded decimal message id. */
export function isMessageId(id: unknown): id is string {
  return typeof id === 'string' && /^\d{12}$/.test(id)
}

export { show }
