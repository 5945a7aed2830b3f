/**
 * Message ids are per-room sequences written as zero-padded decimal strings
 * (docs/protocol.md): compare them by length, then as strings, so that a longer id
 * written without padding still sorts after a shorter one.
 */
export function compareIds(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length
  return a < b ? -1 : a > b ? 1 : 0
}

/** Whether `first` is at most one past `last`: no message can be missing between them. */
export function follows(first: string, last: string): boolean {
  return Number(first) <= Number(last) + 1
}
