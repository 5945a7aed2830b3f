import { ChatError } from '../protocol/errors.ts'

/** Longest room name or username, in characters (code points) after NFC. */
export const MAX_NAME_CHARS = 32

// Letters (with their combining marks), digits, space, '-', '_', '.'. This excludes
// control, format (zero-width, bidi overrides) and symbol characters by construction.
const NAME_CHARS = /^[\p{L}\p{M}\p{N} ._-]+$/u
// Yet some letters and marks render as nothing: Hangul fillers (U+3164, U+FFA0), variation
// selectors, the combining grapheme joiner. "alice" plus one of them looks like "alice",
// so refuse every default-ignorable code point, and marks with no base letter before them.
const INVISIBLE = /\p{Default_Ignorable_Code_Point}|^\p{M}/u

/**
 * Checks and normalizes a room name or username: NFC, trimmed, 1 to 32 characters of
 * letters, digits, space and `-_.`. Throws `invalid_message` naming `what`.
 */
export function normalizeName(raw: string, what: 'username' | 'room name'): string {
  const name = raw.normalize('NFC').trim()
  if (name.length === 0) throw new ChatError('invalid_message', `The ${what} is empty`)
  // Length check on UTF-16 first so a huge string is not split into code points.
  if (name.length > MAX_NAME_CHARS * 2 || [...name].length > MAX_NAME_CHARS) {
    throw new ChatError(
      'invalid_message',
      `The ${what} is longer than ${MAX_NAME_CHARS} characters`,
    )
  }
  if (!NAME_CHARS.test(name)) {
    throw new ChatError(
      'invalid_message',
      `The ${what} may hold only letters, digits, spaces and - _ .`,
    )
  }
  if (INVISIBLE.test(name)) {
    throw new ChatError('invalid_message', `The ${what} holds invisible characters`)
  }
  return name
}

/** The key under which a username is unique in a room: case-insensitive. */
export function userKey(username: string): string {
  return username.toLowerCase()
}

/**
 * The room id for a name: a URL-safe slug ("General Chat" → "general-chat"). Accents
 * are dropped ("Café" → "cafe"); letters of other scripts are kept, lowercased.
 */
export function slugify(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}_]+/gu, '-')
    .replace(/^-+|-+$/g, '')
}
