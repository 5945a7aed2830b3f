/**
 * ChatClient's options with their defaults filled in and checked, and the parsing of what
 * arrives on the socket. Dependency-free, like the rest of the client.
 */
import type { ChatClientOptions, ClientClock, ServerFrame } from './types.ts'

const DEFAULTS = {
  minDelayMs: 500,
  maxDelayMs: 15_000,
  requestTimeoutMs: 10_000,
  heartbeatIntervalMs: 20_000,
}

const globalClock: ClientClock = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
}

export interface ResolvedOptions {
  readonly url: string
  readonly WebSocketClass: typeof WebSocket
  readonly clock: ClientClock
  readonly random: () => number
  readonly minDelayMs: number
  readonly maxDelayMs: number
  readonly requestTimeoutMs: number
  readonly heartbeatIntervalMs: number
}

/** The options with defaults; throws a TypeError for a URL that is not ws:// or wss://. */
export function resolveOptions(options: ChatClientOptions): ResolvedOptions {
  const url = new URL(options.url)
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') {
    throw new TypeError(`ChatClient needs a ws:// or wss:// URL, not ${options.url}`)
  }
  const WebSocketClass = options.WebSocket ?? globalThis.WebSocket
  if (!WebSocketClass) throw new TypeError('No WebSocket class: pass options.WebSocket')
  const minDelayMs = options.reconnect?.minDelayMs ?? DEFAULTS.minDelayMs
  return {
    url: options.url,
    WebSocketClass,
    clock: options.clock ?? globalClock,
    random: options.random ?? Math.random,
    minDelayMs,
    maxDelayMs: Math.max(minDelayMs, options.reconnect?.maxDelayMs ?? DEFAULTS.maxDelayMs),
    requestTimeoutMs: options.requestTimeoutMs ?? DEFAULTS.requestTimeoutMs,
    heartbeatIntervalMs: options.heartbeatIntervalMs ?? DEFAULTS.heartbeatIntervalMs,
  }
}

/** A text frame from the server as a frame, or undefined for anything else (ignored). */
export function parseServerFrame(data: unknown): ServerFrame | undefined {
  if (typeof data !== 'string') return undefined
  let frame: unknown
  try {
    frame = JSON.parse(data)
  } catch {
    return undefined
  }
  if (typeof frame !== 'object' || frame === null) return undefined
  if (typeof (frame as { type?: unknown }).type !== 'string') return undefined
  return frame as ServerFrame
}
