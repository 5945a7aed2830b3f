/**
 * Room grants carried by a sign-in token in its `chat` claim:
 *
 * ```json
 * { "chat": { "rooms": ["team-*", "launch"], "moderates": ["launch"] } }
 * ```
 *
 * Each entry is a room id (`launch`), a prefix ending in `*` (`team-*` matches `team-a`,
 * `team-b`, …) or a lone `*` for every room.
 */
export interface RoomGrants {
  /** Private rooms the holder may join without the room password. */
  readonly rooms: readonly string[]
  /** Rooms the holder moderates; `['*']` means every room. */
  readonly moderates: readonly string[]
}

/** Most entries one list of the `chat` claim may hold. */
export const MAX_GRANTS = 100
/** Longest entry of the `chat` claim, in UTF-16 units (room ids are far shorter). */
export const MAX_GRANT_CHARS = 128

const NO_GRANTS: RoomGrants = { rooms: [], moderates: [] }

/** Whether the grants admit the holder to a private room without its password. */
export function grantsRoom(grants: RoomGrants, roomId: string): boolean {
  return grants.rooms.some((pattern) => matches(pattern, roomId))
}

/** Whether the grants make the holder a moderator of the room. */
export function moderatesRoom(grants: RoomGrants, roomId: string): boolean {
  return grants.moderates.some((pattern) => matches(pattern, roomId))
}

function matches(pattern: string, roomId: string): boolean {
  if (pattern.endsWith('*')) return roomId.startsWith(pattern.slice(0, -1))
  return pattern === roomId
}

/**
 * Reads the `chat` claim (absent → no grants). Returns the grants, or a sentence saying
 * what is wrong with the claim; the caller turns that into `invalid_token`.
 */
export function parseChatClaim(value: unknown): RoomGrants | string {
  if (value === undefined) return NO_GRANTS
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return 'the chat claim of the token is not an object'
  }
  const claim = value as Record<string, unknown>
  const rooms = parseList(claim.rooms, 'rooms')
  if (typeof rooms === 'string') return rooms
  const moderates = parseList(claim.moderates, 'moderates')
  if (typeof moderates === 'string') return moderates
  return { rooms, moderates }
}

function parseList(value: unknown, field: 'rooms' | 'moderates'): string[] | string {
  if (value === undefined) return []
  const where = `chat.${field} in the token`
  if (!Array.isArray(value)) return `${where} is not a list`
  if (value.length > MAX_GRANTS) return `${where} has more than ${MAX_GRANTS} entries`
  for (const entry of value) {
    const problem = entryProblem(entry)
    if (problem) return `${where} ${problem}`
  }
  return [...value] as string[]
}

function entryProblem(entry: unknown): string | undefined {
  if (typeof entry !== 'string' || entry.length === 0) return 'holds an entry that is not a room id'
  if (entry.length > MAX_GRANT_CHARS) {
    return `holds an entry longer than ${MAX_GRANT_CHARS} characters`
  }
  // Room ids never contain '*', so one before the end would silently match nothing:
  // refuse it so the issuer finds its mistake.
  const star = entry.indexOf('*')
  if (star !== -1 && star !== entry.length - 1) {
    return "holds an entry with '*' before its end"
  }
  return undefined
}
