/**
 * Acting on a user everywhere (`POST /api/users/{id}/disconnect`, docs/sign-in.md), once for
 * both engines: every connection of the user is told why and closed with 4403, and with
 * `block_ms` the user's tokens are refused for that long, on every node.
 */
import type { Clock } from '../domain/clock.ts'
import type { Peer } from '../domain/ports.ts'
import { CLOSE } from '../domain/rules.ts'
import { ChatError } from '../protocol/errors.ts'
import type { Maybe } from './records.ts'

/** Where blocks are kept and connections found: one process, or every node of a cluster. */
export interface UserControl {
  /** Refuses the user's tokens for `ms` from now. */
  block(userId: string, ms: number): Maybe<void>
  /** Whether the user's tokens are refused now. */
  blocked(userId: string): Maybe<boolean>
  /** Closes every connection of the user (see `disconnectHere`), on every node. */
  disconnect(userId: string, reason: string): Maybe<void>
}

export interface DisconnectBody {
  reason?: string
  block_ms?: number
}

/** Longest block: 30 days. */
export const MAX_BLOCK_MS = 30 * 24 * 3600 * 1000
const MAX_REASON_CHARS = 500
const MAX_USER_ID_CHARS = 256
const DEFAULT_REASON = 'Disconnected by the server'

/** `POST /api/users/{id}/disconnect`: the block first, so a reconnect cannot sign in meanwhile. */
export async function disconnectUser(
  control: UserControl,
  userId: string,
  body: DisconnectBody,
): Promise<void> {
  if (userId.length === 0 || userId.length > MAX_USER_ID_CHARS)
    throw new ChatError('invalid_message', `The user id must be 1–${MAX_USER_ID_CHARS} characters`)
  const reason = body.reason ?? DEFAULT_REASON
  if (reason.length > MAX_REASON_CHARS)
    throw new ChatError('invalid_message', `reason must be at most ${MAX_REASON_CHARS} characters`)
  const ms = body.block_ms
  if (ms !== undefined && (!Number.isInteger(ms) || ms < 1 || ms > MAX_BLOCK_MS))
    throw new ChatError('invalid_message', `block_ms must be an integer from 1 to ${MAX_BLOCK_MS}`)
  if (ms !== undefined) await control.block(userId, ms)
  await control.disconnect(userId, reason)
}

/** A connection's session as these rules see it. */
interface Held {
  readonly peer: Peer | undefined
  readonly user: { readonly id: string } | undefined
}

/** Closes this node's connections of `userId`: `not_authorized` with `reason`, then 4403. */
export function disconnectHere(
  sessions: Iterable<Held | undefined>,
  userId: string,
  reason: string,
): void {
  for (const session of [...sessions]) {
    const peer = session?.peer
    if (!peer || session.user?.id !== userId) continue
    peer.send({ type: 'error', code: 'not_authorized', message: reason })
    peer.close(CLOSE.forbidden, 'Disconnected by the server')
  }
}

/** Blocks of one process (the memory engine's UserControl keeps them here). */
export class MemoryBlocks {
  private readonly until = new Map<string, number>()

  constructor(private readonly clock: Clock) {}

  block(userId: string, ms: number): void {
    this.until.set(userId, this.clock.now() + ms)
  }

  blocked(userId: string): boolean {
    const until = this.until.get(userId)
    if (until === undefined) return false
    if (until > this.clock.now()) return true
    this.until.delete(userId)
    return false
  }
}
