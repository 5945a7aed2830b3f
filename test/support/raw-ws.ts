/**
 * A bare-bones WebSocket client over `node:net`, for what a real client library will not
 * do: stop reading its socket (a slow consumer) or never answer the server's pings.
 */
import { randomBytes } from 'node:crypto'
import { connect, type Socket } from 'node:net'

/** One frame received from the server (server frames are never masked). */
export interface RawFrame {
  opcode: number
  payload: Buffer
}

export class RawWsClient {
  /** Every complete frame read so far. */
  readonly frames: RawFrame[] = []
  /** Resolves when the TCP connection ends, however it ends. */
  readonly ended: Promise<void>
  private buffer = Buffer.alloc(0)

  private constructor(readonly socket: Socket) {
    this.ended = new Promise((resolve) => socket.once('close', () => resolve()))
  }

  /**
   * Opens a TCP connection and performs the WebSocket upgrade. With `read: false` the
   * socket is paused right after the handshake and never read again.
   */
  static async connect(port: number, options: { read: boolean }): Promise<RawWsClient> {
    const socket = connect({ port, host: '127.0.0.1' })
    socket.on('error', () => {}) // a reset is what some tests provoke
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve)
      socket.once('error', reject)
    })
    const key = randomBytes(16).toString('base64')
    socket.write(
      'GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    )
    const client = new RawWsClient(socket)
    const rest = await new Promise<Buffer>((resolve, reject) => {
      let head = Buffer.alloc(0)
      const onData = (chunk: Buffer) => {
        head = Buffer.concat([head, chunk])
        const end = head.indexOf('\r\n\r\n')
        if (end < 0) return
        socket.off('data', onData)
        if (options.read) socket.on('data', (c: Buffer) => client.receive(c))
        else socket.pause()
        const status = head.subarray(0, end).toString('latin1').split('\r\n')[0] ?? ''
        if (!status.includes(' 101 ')) {
          socket.destroy()
          reject(new Error(`upgrade refused: ${status}`))
        } else resolve(head.subarray(end + 4))
      }
      socket.on('data', onData)
    })
    client.receive(rest)
    return client
  }

  /** Sends a masked text frame holding `frame` as JSON. */
  send(frame: unknown): void {
    const payload = Buffer.from(JSON.stringify(frame))
    const mask = randomBytes(4)
    let header: Buffer
    if (payload.length < 126) {
      header = Buffer.from([0x81, 0x80 | payload.length])
    } else if (payload.length < 65_536) {
      header = Buffer.alloc(4)
      header[0] = 0x81
      header[1] = 0x80 | 126
      header.writeUInt16BE(payload.length, 2)
    } else throw new Error('frame too big for this helper')
    const masked = Buffer.alloc(payload.length)
    for (let i = 0; i < payload.length; i++)
      masked[i] = (payload[i] as number) ^ (mask[i % 4] as number)
    this.socket.write(Buffer.concat([header, mask, masked]))
  }

  /** Text frames parsed as JSON. */
  json(): Record<string, unknown>[] {
    return this.frames.filter((f) => f.opcode === 1).map((f) => JSON.parse(f.payload.toString()))
  }

  /** Starts reading a socket opened with `read: false` (frames already queued arrive too). */
  startReading(): void {
    this.socket.on('data', (c: Buffer) => this.receive(c))
    this.socket.resume()
  }

  destroy(): void {
    this.socket.destroy()
  }

  private receive(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk])
    for (;;) {
      const b = this.buffer
      if (b.length < 2) return
      let length = (b[1] as number) & 0x7f
      let offset = 2
      if (length === 126) {
        if (b.length < 4) return
        length = b.readUInt16BE(2)
        offset = 4
      } else if (length === 127) {
        if (b.length < 10) return
        length = Number(b.readBigUInt64BE(2))
        offset = 10
      }
      if (b.length < offset + length) return
      this.frames.push({
        opcode: (b[0] as number) & 0x0f,
        payload: b.subarray(offset, offset + length),
      })
      this.buffer = b.subarray(offset + length)
    }
  }
}
