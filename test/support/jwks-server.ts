import type { Server } from 'bun'
import type { JWK } from 'jose'

/** What the server answers: the keys, HTTP 500, a body that is no key set, or nothing. */
export type JwksMode = 'ok' | 'error' | 'garbage' | 'hang'

/**
 * A JWKS endpoint on 127.0.0.1 for tests: serves `keys` as `{"keys":[…]}`, counts the
 * requests it gets, and can be switched to fail. Stop it in `afterEach`.
 */
export class JwksServer {
  /** The keys served; replace them to rotate. */
  keys: JWK[]
  mode: JwksMode = 'ok'
  /** Requests received so far, whatever the mode. */
  requests = 0
  private readonly server: Server<undefined>
  // Answers held back in `hang` mode, released on stop so the server can close.
  private readonly held: (() => void)[] = []
  private stopped = false

  constructor(keys: JWK[] = []) {
    this.keys = keys
    this.server = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => this.answer() })
  }

  get url(): string {
    return `http://127.0.0.1:${this.server.port}/.well-known/jwks.json`
  }

  /** Closes the server; a second call does nothing. */
  async stop(): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    for (const release of this.held.splice(0)) release()
    await this.server.stop(true)
  }

  private answer(): Response | Promise<Response> {
    this.requests++
    switch (this.mode) {
      case 'ok':
        return Response.json({ keys: this.keys })
      case 'error':
        return new Response('boom', { status: 500 })
      case 'garbage':
        return Response.json({ not: 'a key set' })
      case 'hang':
        return new Promise((resolve) => {
          this.held.push(() => resolve(new Response('late', { status: 503 })))
        })
    }
  }
}
