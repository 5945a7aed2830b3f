/**
 * The WebSocket adapter: one `.ws('/ws')` route. It turns Bun sockets into Peers,
 * parses each frame, calls the store, and renders errors as `error` frames. It keeps
 * no chat state: each socket carries the store's record of its connection (see Peer),
 * and a queue keeps one connection's frames in order while one of them awaits.
 */
import type { ServerWebSocket } from 'bun'
import { Elysia } from 'elysia'
import type { ChatStore, ConnectionHandle as Connection } from '../domain/chat-store.ts'
import type { Logger, Peer } from '../domain/ports.ts'
import { sessionTag } from '../logger.ts'
import type { ServerMetrics } from '../metrics.ts'
import { ChatError } from '../protocol/errors.ts'
import type { ClientFrame, MessageFrame, RoomId, ServerFrame } from '../protocol/frames.ts'
import { FrameError, parseClientFrame } from '../protocol/parse.ts'
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

/** The promise of a store call that awaits; undefined for one that finished at once. */
function awaited(result: void | Promise<void>): Promise<void> | undefined {
  return result instanceof Promise ? result : undefined
}

/** Frames waiting while an earlier frame of the same connection awaits (a password check). */
const MAX_QUEUED_FRAMES = 64

/** A text frame as Elysia would have handed it over: parsed JSON, or the text when it is not JSON. */
function decode(raw: unknown): unknown {
  if (typeof raw !== 'string') return raw
  try {
    return JSON.parse(raw)
  } catch {
    return raw
  }
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
  // From the upgrade check to `open`: the caller's address.
  const addresses = new WeakMap<Request, string>()
  // A number per connection for the debug logs, kept only while they are written.
  const ids = new WeakMap<Socket, number>()
  const origins = new Set(allowedOrigins.map((o) => o.toLowerCase()))

  /**
   * One open socket: the store's Peer, and its record of the connection (`client` and
   * `resumed` are the store's, see Peer). Four fields: JSC gives an object of up to four
   * fields 48 bytes, of five or six 64 (the metrics and the route are this plugin's, so
   * the class is made per plugin; the queue of frames waiting behind an await, rarely
   * needed, lives in the `waiting` map).
   *
   * It also replaces the socket's `ws.data` at `open`. Elysia's `.ws()` gives every socket
   * a copy of the whole upgrade context (Request, headers, cookie, query…) plus six
   * handler closures and their scopes, and keeps them all for the life of the socket:
   * about 2.5 KiB of heap per connection, against 0.5 KiB for everything Bun keeps itself
   * (docs/benchmarks.md, "Capacity"). Elysia's socket dispatcher calls
   * `ws.data.message(ws, message)` and `ws.data.close(ws, code, reason)`, so an object
   * with those two methods (shared on the prototype, no closure per socket) takes its
   * place and everything Elysia made for the socket becomes garbage. Frames then arrive
   * as Bun delivers them (text as a string, binary as a Buffer), not parsed by Elysia.
   */
  class Socket implements Peer {
    client: unknown = undefined
    resumed = false

    constructor(
      private readonly ws: RawSocket,
      readonly address: string,
    ) {}

    send(frame: ServerFrame): void {
      metrics.delivered(1)
      this.ws.send(JSON.stringify(frame))
    }

    sendJson(json: string): void {
      metrics.delivered(1)
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
      metrics.delivered(Math.max(0, metrics.subscribers(topic) - 1))
      this.ws.publish(topic, JSON.stringify(frame))
    }

    /**
     * Two callers share this name: the store (Peer.close(code, reason)) closes the socket;
     * Elysia's dispatcher (`ws.data.close(ws, code, reason)`) reports that it has closed.
     */
    close(codeOrWs: number | object, reasonOrCode?: unknown): void {
      if (typeof codeOrWs === 'number') this.ws.close(codeOrWs, String(reasonOrCode ?? ''))
      else closed(this, typeof reasonOrCode === 'number' ? reasonOrCode : 1006)
    }

    /** Called by Elysia's socket dispatcher, as `ws.data.message`. */
    message(_ws: unknown, raw: unknown): void {
      received(this, raw)
    }
  }

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
    conn.send(errorFrame(chatError, ref, room))
  }

  /**
   * A chat message, nearly every frame: kept out of `run`'s switch so that the optimizing
   * JIT compiles only this small function for the hot path.
   */
  const runMessage = (conn: Connection, frame: MessageFrame): undefined => {
    store.checkSignedIn(conn, 'message')
    const pending = awaited(store.frames.message(conn, frame))
    if (!pending) {
      metrics.messageAccepted()
      return
    }
    // The store has already put the message in line (the Redis engine's one command
    // connection keeps the order), so the connection's next frames need not wait for
    // its answer: a burst is pipelined, and an error still comes back with its ref.
    pending.then(
      () => metrics.messageAccepted(),
      (e) => reply(conn, e, frame),
    )
  }

  /** Calls the store for one parsed frame; a promise when the store awaits (a password, Redis). */
  const run = (conn: Connection, frame: ClientFrame): Promise<void> | undefined => {
    store.checkSignedIn(conn, frame.action)
    switch (frame.action) {
      case 'message':
        return runMessage(conn, frame)
      case 'edit':
      case 'delete':
      case 'react':
        return awaited(store.frames.amend(conn, frame))
      case 'typing':
        return awaited(store.frames.typing(conn, frame.room))
      case 'read':
        return awaited(store.frames.read(conn, frame))
      case 'join':
        return store.frames.join(conn, frame)
      case 'create':
        return store.frames.create(conn, frame)
      case 'leave':
        return awaited(store.frames.leave(conn, frame.room, frame.ref))
      case 'history':
        return awaited(store.frames.history(conn, frame))
      case 'resume':
        return awaited(store.resume(conn, frame))
      case 'auth':
        return store.auth(conn, frame)
      case 'direct':
        return store.frames.direct(conn, frame)
      case 'directs':
        return awaited(store.frames.listDirects(conn, frame))
      case 'ping': {
        store.countFrame(conn)
        conn.send(frame.ref === undefined ? { type: 'pong' } : { type: 'pong', ref: frame.ref })
        return
      }
      case 'ban':
      case 'kick':
      case 'unban':
      case 'mute':
      case 'unmute':
        return awaited(store.frames.moderate(conn, frame))
    }
  }

  // The action of the frame `handle` last parsed (undefined: it did not parse), read by
  // `dispatch` as soon as `handle` returns; one variable rather than an object per frame.
  let parsed: ClientFrame['action'] | undefined

  /** Handles one frame, counted and timed; returns a promise only when the handling awaits. */
  const dispatch = (conn: Connection, raw: unknown): Promise<void> | undefined => {
    const started = performance.now()
    parsed = undefined
    const pending = handle(conn, raw)
    const action = parsed
    if (!pending) {
      metrics.frameHandled(action, (performance.now() - started) / 1000)
      return
    }
    return pending.finally(() => metrics.frameHandled(action, (performance.now() - started) / 1000))
  }

  const handle = (conn: Connection, raw: unknown): Promise<void> | undefined => {
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
      parsed = frame.action
      const pending = frame.action === 'message' ? runMessage(conn, frame) : run(conn, frame)
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

  /** Sockets whose frame handling awaits; their later frames wait here, in order. */
  const waiting = new WeakMap<Socket, unknown[]>()

  const drain = async (socket: Socket, queue: unknown[]) => {
    while (queue.length > 0) {
      const pending = dispatch(socket, queue.shift())
      if (pending) await pending
    }
    waiting.delete(socket)
  }

  /** A frame arrived on `socket`. */
  function received(socket: Socket, raw: unknown): void {
    const message = decode(raw)
    const queue = waiting.get(socket)
    if (queue) {
      if (queue.length >= MAX_QUEUED_FRAMES) {
        metrics.refused('rate_limited', 'ws')
        socket.send(
          errorFrame(
            new ChatError('rate_limited', 'Too many frames in flight'),
            undefined,
            undefined,
          ),
        )
        return
      }
      queue.push(message)
      return
    }
    const pending = dispatch(socket, message)
    if (pending) {
      const later: unknown[] = []
      waiting.set(socket, later)
      pending.then(() => drain(socket, later)).catch((e) => toChatError(e, logger))
    }
  }

  /** Sockets the store was told have closed: it hears of each close once. */
  const gone = new WeakSet<Socket>()

  /** `socket` has closed. */
  function closed(socket: Socket, code: number): void {
    metrics.closed(code)
    if (gone.has(socket)) return
    gone.add(socket)
    if (logger.enabled?.('debug') !== false) {
      const session = store.sessionOf(socket)
      logger.debug('connection closed', {
        conn: ids.get(socket),
        code,
        session_tag: session && sessionTag(session),
      })
    }
    store.disconnect(socket)
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
      addresses.set(request, address)
    },
    open(ws) {
      const raw = ws.raw as unknown as RawSocket & { data: unknown }
      const request = (raw.data as { request?: Request } | undefined)?.request
      const checked = request ? addresses.get(request) : undefined
      if (request) addresses.delete(request)
      // Bun keeps its own copy of the peer's address string once read (Elysia reads it
      // for every socket); share that copy rather than keep a second one per connection.
      const remote = ws.raw.remoteAddress
      const address = checked === undefined || checked === remote ? remote : checked
      const socket = new Socket(raw, address)
      // From here on Elysia's dispatcher calls the socket's own message/close (see Socket).
      raw.data = socket
      store.connect(socket)
      connections += 1
      if (logger.enabled?.('debug') !== false) {
        ids.set(socket, connections)
        const session = store.sessionOf(socket)
        logger.debug('connection opened', {
          conn: connections,
          address,
          session_tag: session && sessionTag(session),
        })
      }
    },
    // Only reached if Elysia stops dispatching through `ws.data` (then the swap above
    // saves nothing, but frames are still handled).
    message(ws, message) {
      const socket = ws.raw.data
      if (socket instanceof Socket) received(socket, message)
    },
    close(ws, code) {
      const socket = ws.raw.data
      if (socket instanceof Socket) closed(socket, code)
    },
  })
}
