/**
 * A scripted WebSocket server on loopback for what the real one never does on purpose:
 * go silent, or send a frame twice. The test says what each connection receives.
 */
import type { ServerWebSocket } from 'bun'

export interface ScriptServer {
  url: string
  /** Every connection opened so far, in order. */
  sockets: ServerWebSocket<unknown>[]
  /** Every text frame received, parsed, in order. */
  received: Record<string, unknown>[]
  /** Resolves at the `n`th connection (1-based). */
  connection(n: number): Promise<ServerWebSocket<unknown>>
  /** Resolves at the next frame received that matches. */
  frame(where: (f: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>
  stop(): void
}

export function scriptServer(
  onOpen: (ws: ServerWebSocket<unknown>, n: number) => void,
): ScriptServer {
  const sockets: ServerWebSocket<unknown>[] = []
  const received: Record<string, unknown>[] = []
  let connectionWaiters: { n: number; resolve(ws: ServerWebSocket<unknown>): void }[] = []
  let frameWaiters: {
    where(f: Record<string, unknown>): boolean
    resolve(f: Record<string, unknown>): void
  }[] = []
  const server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    fetch(request, srv) {
      return srv.upgrade(request) ? undefined : new Response('WebSocket only', { status: 400 })
    },
    websocket: {
      open(ws) {
        sockets.push(ws)
        onOpen(ws, sockets.length)
        const ready = connectionWaiters.filter((w) => w.n <= sockets.length)
        connectionWaiters = connectionWaiters.filter((w) => w.n > sockets.length)
        for (const w of ready) w.resolve(sockets[w.n - 1] as ServerWebSocket<unknown>)
      },
      message(_ws, message) {
        const frame = JSON.parse(String(message)) as Record<string, unknown>
        received.push(frame)
        const ready = frameWaiters.filter((w) => w.where(frame))
        frameWaiters = frameWaiters.filter((w) => !w.where(frame))
        for (const w of ready) w.resolve(frame)
      },
    },
  })
  return {
    url: `ws://127.0.0.1:${server.port}/ws`,
    sockets,
    received,
    connection(n) {
      const ws = sockets[n - 1]
      if (ws) return Promise.resolve(ws)
      return new Promise((resolve) => connectionWaiters.push({ n, resolve }))
    },
    frame(where) {
      return new Promise((resolve) => frameWaiters.push({ where, resolve }))
    },
    stop() {
      server.stop(true)
    },
  }
}
