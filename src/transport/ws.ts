/**
 * The WebSocket adapter: one `.ws('/ws')` route. It turns Bun sockets into Peers,
 * parses each frame, calls the store, and renders errors as `error` frames. It keeps
 * no chat state: only the binding of each socket to its store Connection and a queue
 * that keeps one connection's frames in order while one of them awaits.
 */
import type { ServerWebSocket } from 'bun'
import { Elysia } from 'elysia'
import type { ChatStore, ConnectionHandle as Connection } from '../domain/chat-store.ts'
import type { Logger, Peer } from '../domain/ports.ts'
import { sessionTag } from '../logger.ts'
import type { ServerMetrics } from '../metrics.ts'
import { ChatError } from '../protocol/errors.ts'
import {
  type ClientFrame,
  FrameError,
  parseClientFrame,
  type RoomId,
  type ServerFrame,
} from '../protocol/frames.ts'
import { errorFrame, toChatError } from './errors.ts'

/** The Bun topic of a room; the only place topic names are built. */
export function roomTopic(room: RoomId): string {
  return `room:${room}`
}

/** The part of Bun's socket the adapter uses (Elysia's typing of `ws.raw` lags bun-types). */
type RawSocket = Pick<
  ServerWebSocket<unknown>,
  'send' | 'subscribe' | 'unsubscribe' | 'publish' | 'close'
>

class WsPeer implements Peer {
  constructor(
    private readonly ws: RawSocket,
    readonly address: string,
    private readonly metrics: ServerMetrics,
  ) {}

  send(frame: ServerFrame): void {
    this.metrics.delivered(1)
    this.ws.send(JSON.stringify(frame))
  }

  sendJson(json: string): void {
    this.metrics.delivered(1)
    this.ws.send(json)
  }

  subscribe(room: RoomId): boolean {
    return this.ws.subscribe(roomTopic(room))
  }

  unsubscribe(room: RoomId): void {
    this.ws.unsubscribe(roomTopic(room))
  }

  publishToOthers(room: RoomId, frame: ServerFrame): void {
    // ws.publish skips the sender: exactly "the other members".
    const topic = roomTopic(room)
    this.metrics.delivered(Math.max(0, this.metrics.subscribers(topic) - 1))
    this.ws.publish(topic, JSON.stringify(frame))
  }

  close(code: number, reason: string): void {
    this.ws.close(code, reason)
  }
}

/** The promise of a store call that awaits; undefined for one that finished at once. */
function awaited(result: void | Promise<void>): Promise<void> | undefined {
  return result instanceof Promise ? result : undefined
}

/** Frames waiting while an earlier frame of the same connection awaits (a password check). */
const MAX_QUEUED_FRAMES = 64

interface Binding {
  /** A number for this connection in the logs. */
  id: number
  conn: Connection
  /** Set while a frame's handling awaits; later frames wait here, in order. */
  queue: unknown[] | undefined
  /** The upgrade's context objects, until their request fields are released. */
  upgrade: Record<string, unknown>[] | undefined
}

/**
 * Elysia keeps the whole upgrade context alive for the life of each socket, twice (the
 * context its closures hold, and the copy in `ws.data`): the Request, its headers as an
 * object, the cookie and query objects. That measured ~1.8 KiB per connection. Nothing
 * reads them after the upgrade, so once the upgrade response is done (at the first
 * frame) we drop those references.
 */
const UPGRADE_FIELDS = ['request', 'headers', 'cookie', 'query', 'url'] as const

function releaseUpgrade(objects: Record<string, unknown>[]): void {
  for (const o of objects) for (const key of UPGRADE_FIELDS) delete o[key]
}

/** The `.ws('/ws')` route, as a named plugin. */
export function wsPlugin(
  store: ChatStore,
  allowedOrigins: readonly string[],
  clientAddress: (request: Request) => string,
  logger: Logger,
  metrics: ServerMetrics,
) {
  let connections = 0
  const bindings = new WeakMap<object, Binding>()
  // From the upgrade check to `open`: the caller's address and Elysia's context object.
  const upgrades = new WeakMap<Request, { address: string; context: Record<string, unknown> }>()
  const origins = new Set(allowedOrigins.map((o) => o.toLowerCase()))

  const reply = (
    conn: Connection,
    error: unknown,
    frame: { ref?: unknown; room?: unknown } | undefined,
  ) => {
    const chatError = toChatError(error, logger)
    metrics.refused(chatError.code, 'ws')
    const ref =
      error instanceof FrameError ? error.ref : (frame?.ref as string | number | undefined)
    const room = error instanceof FrameError ? error.room : (frame?.room as string | undefined)
    conn.peer.send(errorFrame(chatError, ref, room))
  }

  /** Calls the store for one parsed frame; a promise when the store awaits (a password, Redis). */
  const run = (conn: Connection, frame: ClientFrame): Promise<void> | undefined => {
    switch (frame.action) {
      case 'message': {
        const pending = awaited(store.message(conn, frame))
        if (!pending) {
          metrics.messageAccepted()
          return
        }
        return pending.then(() => metrics.messageAccepted())
      }
      case 'typing':
        return awaited(store.typing(conn, frame.room))
      case 'join':
        return store.join(conn, frame)
      case 'create':
        return store.create(conn, frame)
      case 'leave':
        return awaited(store.leave(conn, frame.room, frame.ref))
      case 'history':
        return awaited(store.history(conn, frame))
      case 'resume':
        return awaited(store.resume(conn, frame))
      case 'ping': {
        store.countFrame(conn)
        conn.peer.send(
          frame.ref === undefined ? { type: 'pong' } : { type: 'pong', ref: frame.ref },
        )
        return
      }
      case 'ban':
      case 'kick':
      case 'unban':
      case 'mute':
      case 'unmute':
        return awaited(store.moderate(conn, frame))
    }
  }

  /** Handles one frame, counted and timed; returns a promise only when the handling awaits. */
  const dispatch = (conn: Connection, raw: unknown): Promise<void> | undefined => {
    const started = performance.now()
    const seen: { frame?: ClientFrame } = {}
    const pending = handle(conn, raw, seen)
    const action = seen.frame?.action
    if (!pending) {
      metrics.frameHandled(action, (performance.now() - started) / 1000)
      return
    }
    return pending.finally(() => metrics.frameHandled(action, (performance.now() - started) / 1000))
  }

  const handle = (
    conn: Connection,
    raw: unknown,
    seen: { frame?: ClientFrame },
  ): Promise<void> | undefined => {
    let frame: ClientFrame | undefined
    try {
      if (
        typeof raw === 'object' &&
        raw !== null &&
        (raw instanceof Uint8Array || raw instanceof ArrayBuffer)
      ) {
        throw new FrameError('Binary frames are not accepted: send JSON text', undefined, undefined)
      }
      if (typeof raw === 'string')
        throw new FrameError('A frame must be a JSON object', undefined, undefined)
      frame = parseClientFrame(raw)
      seen.frame = frame
      const pending = run(conn, frame)
      if (pending) {
        const current = frame
        return pending.catch((e) => reply(conn, e, current))
      }
      return
    } catch (e) {
      if (e instanceof FrameError) store.penalize(conn)
      reply(conn, e, frame)
    }
  }

  const drain = async (binding: Binding) => {
    const queue = binding.queue as unknown[]
    while (queue.length > 0) {
      const pending = dispatch(binding.conn, queue.shift())
      if (pending) await pending
    }
    binding.queue = undefined
  }

  return new Elysia({ name: 'chat-ws' }).ws('/ws', {
    detail: { hide: true },
    beforeHandle(context) {
      const { request } = context
      const origin = request.headers.get('origin')
      if (origins.size > 0 && origin !== null && !origins.has(origin.toLowerCase())) {
        metrics.upgradeRefused('origin')
        logger.warn('websocket refused: origin not allowed', {
          address: clientAddress(request),
          origin: origin.slice(0, 200),
        })
        throw new ChatError('not_authorized', 'Origin not allowed')
      }
      const address = clientAddress(request)
      try {
        store.checkUpgrade(address)
      } catch (e) {
        if (e instanceof ChatError && e.code === 'rate_limited') {
          metrics.upgradeRefused('address_cap')
          logger.warn('websocket refused: connections per address', { address })
        } else metrics.upgradeRefused('shutting_down')
        throw e
      }
      upgrades.set(request, { address, context: context as unknown as Record<string, unknown> })
    },
    open(ws) {
      const data = ws.raw.data as Record<string, unknown>
      const upgrade = upgrades.get(data.request as Request)
      const address = upgrade?.address ?? ws.raw.remoteAddress
      // Elysia types subscribe() as void; Bun's socket returns a boolean (bun-types).
      const conn = store.connect(new WsPeer(ws.raw as unknown as RawSocket, address, metrics))
      const id = ++connections
      if (logger.enabled?.('debug') !== false) {
        const session = store.sessionOf(conn)
        logger.debug('connection opened', {
          conn: id,
          address,
          session_tag: session && sessionTag(session),
        })
      }
      bindings.set(ws.raw, {
        id,
        conn,
        queue: undefined,
        upgrade: upgrade ? [data, upgrade.context] : [data],
      })
    },
    message(ws, message) {
      const binding = bindings.get(ws.raw)
      if (!binding) return
      if (binding.upgrade) {
        releaseUpgrade(binding.upgrade)
        binding.upgrade = undefined
      }
      if (binding.queue) {
        if (binding.queue.length >= MAX_QUEUED_FRAMES) {
          metrics.refused('rate_limited', 'ws')
          binding.conn.peer.send(
            errorFrame(
              new ChatError('rate_limited', 'Too many frames in flight'),
              undefined,
              undefined,
            ),
          )
          return
        }
        binding.queue.push(message)
        return
      }
      const pending = dispatch(binding.conn, message)
      if (pending) {
        binding.queue = []
        pending.then(() => drain(binding)).catch((e) => toChatError(e, logger))
      }
    },
    close(ws, code) {
      metrics.closed(code)
      const binding = bindings.get(ws.raw)
      if (!binding) return
      bindings.delete(ws.raw)
      if (logger.enabled?.('debug') !== false) {
        const session = store.sessionOf(binding.conn)
        logger.debug('connection closed', {
          conn: binding.id,
          code,
          session_tag: session && sessionTag(session),
        })
      }
      store.disconnect(binding.conn)
    },
  })
}
