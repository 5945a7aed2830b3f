import { afterEach, expect } from 'bun:test'
import type { AppDeps } from '../../src/app.ts'
import type { Config } from '../../src/config.ts'
import { redis } from './engine.ts'
import { startServer, type TestServer } from './server.ts'
import { auth, type TestClaims, testToken } from './tokens.ts'
import { type Frame, SENTINEL, TestClient } from './ws-client.ts'

let sentinels = 0

/** What `useServer` gives a test file: the running server and fixtures built on it, in steps. */
export interface ServerHarness {
  /** The server this test started; throws if it has not started one. */
  readonly server: TestServer
  /** Starts the server with the file's defaults changed by `overrides`; one per test. */
  serve(overrides?: Partial<Config>, deps?: AppDeps): TestServer
  /** Stops the running server (its error log must be empty) and starts a new one. */
  restart(overrides?: Partial<Config>, deps?: AppDeps): Promise<TestServer>
  /** A WebSocket client past `welcome`, closed after the test. */
  connect(headers?: Record<string, string>): Promise<TestClient>
  /**
   * A client past `welcome`, signed in with a token for `claims` issued at `now`
   * (TEST_JWT_SECRET: give the server it as `authJwtSecret`); fails unless `authenticated`.
   */
  signedIn(claims: TestClaims, now?: number): Promise<TestClient>
  /** A client already in `room` as `username`. */
  member(room: string, username: string, extra?: Frame): Promise<TestClient>
  /** A fetch against the server's HTTP address. */
  http(path: string, init?: RequestInit): Promise<Response>
  /** POST /rooms with `body` as JSON, whatever the answer. */
  postRoom(body: Frame): Promise<Response>
  /** POST /rooms that must answer 201; returns the created room. */
  createRoom(body: Frame): Promise<Frame>
  /** Sends a join and returns the reply (joined or error) instead of throwing. */
  tryJoin(client: TestClient, room: string, username: string, extra?: Frame): Promise<Frame>
}

/**
 * Registers, for the calling test file, an `afterEach` that closes the clients, stops the
 * server and fails the test if the server logged an error. Call it at module top level.
 *
 * @example
 * const { serve, member } = useServer({ resumeGraceMs: 0 })
 * it('…', async () => {
 *   serve()
 *   const alice = await member('general', 'alice')
 * })
 */
export function useServer(defaults: Partial<Config> = {}): ServerHarness {
  let current: TestServer | undefined
  const clients: TestClient[] = []

  const running = (): TestServer => {
    if (!current) throw new Error('no server is running: call serve() first in this test')
    return current
  }

  async function stop(server: TestServer): Promise<void> {
    await server.stop()
    expect(server.logger.errors()).toEqual([])
  }

  const bus = redis
  if (bus) {
    // On the Redis engine a frame reaches the other members through Redis: `sync` first
    // lets every client's frames reach the server (a ping each), then sends a sentinel
    // through the stream of each of the client's rooms, as the cluster model test does.
    TestClient.barrier = async (client) => {
      const server = current
      if (!server) return
      const open = clients.filter((c) => c !== client && c.ws.readyState === WebSocket.OPEN)
      await Promise.all(open.map((c) => c.ping(true)))
      for (const room of client.rooms) {
        const ref = `${SENTINEL}${++sentinels}`
        const got = client.next('pong', (f) => f.ref === ref)
        const channel = `${server.config.redisKeyPrefix}{${room}}:ch`
        await bus.command(
          'PUBLISH',
          channel,
          `e|0|test|-||${JSON.stringify({ type: 'pong', ref })}`,
        )
        await got
      }
    }
  }

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close()
    const server = current
    current = undefined
    if (server) await stop(server)
  })

  const serve = (overrides: Partial<Config> = {}, deps: AppDeps = {}): TestServer => {
    if (current) throw new Error('a server is already running: use restart() for another')
    current = startServer({ ...defaults, ...overrides }, deps)
    return current
  }

  const http = async (path: string, init: RequestInit = {}): Promise<Response> => {
    const server = running()
    await server.ready
    return fetch(`${server.httpUrl}${path}`, init)
  }

  const postRoom = (body: Frame): Promise<Response> =>
    http('/rooms', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })

  const connect = async (headers?: Record<string, string>): Promise<TestClient> => {
    const server = running()
    await server.ready
    const c = await TestClient.connect(server.wsUrl, headers)
    clients.push(c)
    return c
  }

  return {
    get server() {
      return running()
    },
    serve,
    async restart(overrides, deps) {
      const old = running()
      current = undefined
      await stop(old)
      const next = serve(overrides, deps)
      await next.ready
      return next
    },
    connect,
    async signedIn(claims, now) {
      const c = await connect()
      const reply = await auth(c, await testToken(claims, now))
      expect(reply.type).toBe('authenticated')
      return c
    },
    async member(room, username, extra = {}) {
      const c = await connect()
      await c.join(room, username, extra)
      return c
    },
    http,
    postRoom,
    async createRoom(body) {
      const res = await postRoom(body)
      expect(res.status).toBe(201)
      return (await res.json()) as Frame
    },
    tryJoin: (client, room, username, extra = {}) =>
      client.request({ action: 'join', room, username, ...extra }, ['joined']),
  }
}
