/**
 * A loopback TCP proxy in front of the server, to drop a page's connections the way a
 * network does: `cut()` destroys every open connection with no WebSocket close frame (the
 * page sees 1006), and while `refusing` new ones are closed at once, so that the page
 * stays in its reconnecting state until the test lets it back.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net'

export class TcpProxy {
  refusing = false
  private readonly sockets = new Set<Socket>()
  private readonly server: Server

  private constructor(targetPort: number) {
    this.server = createServer((client) => {
      if (this.refusing) {
        client.destroy()
        return
      }
      const upstream = createConnection({ host: '127.0.0.1', port: targetPort })
      for (const socket of [client, upstream]) {
        this.sockets.add(socket)
        socket.on('close', () => this.sockets.delete(socket))
        // A reset from the other side is part of the game: just end both.
        socket.on('error', () => {
          client.destroy()
          upstream.destroy()
        })
      }
      client.pipe(upstream)
      upstream.pipe(client)
      client.on('close', () => upstream.destroy())
      upstream.on('close', () => client.destroy())
    })
  }

  /** Starts a proxy on a free loopback port that forwards to `targetPort`. */
  static async start(targetPort: number): Promise<TcpProxy> {
    const proxy = new TcpProxy(targetPort)
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve))
    return proxy
  }

  get url(): string {
    const address = this.server.address()
    if (address === null || typeof address === 'string') throw new Error('proxy not listening')
    return `http://127.0.0.1:${address.port}`
  }

  /** Drops every open connection at once, as a network failure would. */
  cut(): void {
    for (const socket of this.sockets) socket.destroy()
    this.sockets.clear()
  }

  async stop(): Promise<void> {
    this.cut()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }
}
