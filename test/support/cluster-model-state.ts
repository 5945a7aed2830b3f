/**
 * The model's state for the cluster model test (see test/support/cluster-model.ts): the
 * settings the nodes run with, the random commands, and what the model holds of sessions,
 * rooms, members and connections.
 */
import type { Frame, TestClient } from './ws-client.ts'

export const GRACE_MS = 2500
export const EMPTY_TTL_MS = 1500
export const SHORT_MUTE_MS = 1200
export const LONG_MUTE_MS = 60_000
/**
 * Longest a step (a command, its frames and the checks on both nodes) may take. No deadline
 * is let come closer than this while a step runs.
 */
export const GUARD_MS = 900
/** Longest the cluster may take to act once a deadline has passed, or to deliver a frame. */
export const CATCH_UP_MS = 4000

export const NODE_ENV: Record<string, string> = {
  RESUME_GRACE_MS: String(GRACE_MS),
  ROOM_EMPTY_TTL_MS: String(EMPTY_TTL_MS),
  RATE_LIMIT_PER_SEC: '1000',
  ROOM_CREATE_PER_MIN: '100000',
  // Every typing frame is broadcast (no throttle) and none times out within a run, so the
  // typing frames each member gets are exactly predictable.
  TYPING_THROTTLE_MS: '0',
  TYPING_TIMEOUT_MS: '600000',
  UNJOINED_TIMEOUT_MS: '600000',
  DEFAULT_ROOMS: 'general',
}

export const ROOM_IDS = ['general', 'alpha', 'beta'] as const
export type RoomId = (typeof ROOM_IDS)[number]
export const ROOM_NAMES: Record<RoomId, string> = {
  general: 'general',
  alpha: 'Alpha',
  beta: 'Beta',
}
/** Each slot's own username. */
export const OWN_NAMES = ['ann', 'bob', 'cy', 'dee']
export const PASSWORD = 'pw'
export const DEFAULT_MAX_USERS = 1000

/**
 * A random step. Rooms and moderation targets are picked by number (`pick`, `who`) among
 * the candidates the model holds at that moment (mostly the rooms the client is in, the
 * members of the room), so that most steps do something; the same commands on the same
 * model pick the same, so a failure replays.
 */
export type Command =
  | {
      kind: 'join'
      ci: number
      pick: number
      name: string
      auth: 'none' | 'token' | 'pw' | 'wrong'
    }
  | { kind: 'create'; ci: number; pick: number; name: string; password: boolean; small: boolean }
  | { kind: 'restCreate'; node: number; pick: number; password: boolean }
  | { kind: 'leave'; ci: number; pick: number }
  | { kind: 'message'; ci: number; pick: number }
  | { kind: 'typing'; ci: number; pick: number }
  | { kind: 'history'; ci: number; pick: number }
  | { kind: 'burst'; pick: number; senders: number; each: number }
  | { kind: 'drop'; ci: number }
  | { kind: 'connect'; ci: number; node: number }
  | { kind: 'resume'; ci: number; node: number }
  | { kind: 'resumeSpent'; ci: number; node: number }
  | {
      kind: 'moderate'
      ci: number
      pick: number
      who: number
      action: 'ban' | 'kick' | 'unban' | 'mute' | 'unmute'
      long: boolean
    }
  | { kind: 'restart'; node: number }
  | { kind: 'wait'; ms: number }

export class Session {
  token: string
  conn: Conn | undefined
  readonly rooms = new Map<RoomId, Member>()
  /** When the drop was sent (the server's grace starts after it); undefined while online. */
  awaySince: number | undefined
  /** Rooms the session was banned or kicked from while away: told on resume. */
  readonly removed = new Map<RoomId, 'banned' | 'kicked'>()
  /** The grace ran out (or it dropped in no room): the token is dead. */
  expired = false

  constructor(
    readonly id: number,
    token: string,
  ) {
    this.token = token
  }
}

export interface Member {
  room: RoomModel
  username: string
  key: string
  session: Session
  online: boolean
  moderator: boolean
  typing: boolean
  /** The sequence of the member's "joined" note: it gets every message after it. */
  since: number
  /** The last message or system id the session received in this room. */
  lastId: number
  /** Ids of the `message` frames the session received in this room, in order. */
  ids: number[]
}

export interface Stored {
  type: 'text' | 'system'
  sender: string
  content: string
}

export interface Mute {
  /** When the mute was sent and acknowledged: the server's start lies in between. */
  from: number
  to: number
  ms: number
}

export class RoomModel {
  exists = false
  name = ''
  isPrivate = false
  maxUsers = DEFAULT_MAX_USERS
  permanent = false
  token: string | undefined
  /** In join order (the order of user lists). */
  readonly members = new Map<string, Member>()
  readonly bans = new Set<string>()
  /** Sessions banned, with the username key they were banned under. */
  readonly bannedSessions = new Map<Session, string>()
  readonly mutes = new Map<string, Mute>()
  history: Stored[] = []
  /** Earliest moment the server may count the room empty from (undefined: not empty). */
  emptySince: number | undefined

  constructor(readonly id: RoomId) {}

  append(type: Stored['type'], sender: string, content: string): number {
    this.history.push({ type, sender, content })
    return this.history.length
  }

  reset(): void {
    this.exists = false
    this.token = undefined
    this.members.clear()
    this.bans.clear()
    this.bannedSessions.clear()
    this.mutes.clear()
    this.history = []
    this.emptySince = undefined
  }

  users(): { username: string; status: string; moderator: boolean }[] {
    return [...this.members.values()].map((m) => ({
      username: m.username,
      status: m.online ? 'online' : 'offline',
      moderator: m.moderator,
    }))
  }

  online(): Member[] {
    return [...this.members.values()].filter((m) => m.online && m.session.conn?.open)
  }
}

export class Conn {
  cursor = 0
  open = true
  /** Event frames (by key) this connection must get, and those it got. */
  readonly expected = new Map<string, number>()
  readonly received = new Map<string, number>()
  /** Wrong passwords tried on this connection (its bucket holds 5). */
  wrongPasswords = 0

  constructor(
    readonly client: TestClient,
    readonly node: number,
    public session: Session,
    readonly label: string,
  ) {}

  expect(key: string): void {
    this.expected.set(key, (this.expected.get(key) ?? 0) + 1)
  }
}

export interface Slot {
  index: number
  conn: Conn | undefined
  /** The session this slot would resume. */
  session: Session
  spent: string[]
  /** The node of its last connection. */
  lastNode: number
}

export const pad = (seq: number) => String(seq).padStart(12, '0')
export const key = (name: string) => name.toLowerCase()

export class ModelFailure extends Error {}

export interface HttpReply {
  status: number
  body: Frame
}

/** Waits until `check` holds, polling; throws with `what` after `ms`. */
export async function until(
  what: string,
  check: () => Promise<boolean> | boolean,
  ms = CATCH_UP_MS,
) {
  const end = Date.now() + ms
  for (;;) {
    if (await check()) return
    if (Date.now() > end) throw new ModelFailure(`timed out waiting for ${what}`)
    await Bun.sleep(15)
  }
}

/** How to stop what the runs started and have not stopped yet (for the test file's afterEach). */
export const live = new Set<() => Promise<void>>()

export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((stop) => stop()))
}
