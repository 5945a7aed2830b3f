import type { Peer, RoomSink } from '../../src/domain/ports.ts'
import type { RoomId, ServerFrame } from '../../src/protocol/frames.ts'

/** In-memory topics: what Bun's subscribe/publish does, without sockets. */
export class Hub implements RoomSink {
  readonly peers = new Set<FakePeer>()
  publish(room: RoomId, frame: ServerFrame): void {
    for (const p of this.peers) if (p.rooms.has(room)) p.frames.push(frame)
  }
  publishJson(room: RoomId, json: string): void {
    this.publish(room, JSON.parse(json) as ServerFrame)
  }
}

export class FakePeer implements Peer {
  readonly address = '127.0.0.1'
  // The store's record of the connection (see Peer).
  client: unknown = undefined
  resumed = false
  readonly frames: ServerFrame[] = []
  readonly rooms = new Set<RoomId>()
  closedWith: { code: number; reason: string } | undefined

  constructor(private readonly hub: Hub) {
    hub.peers.add(this)
  }
  send(frame: ServerFrame): void {
    if (!this.closedWith) this.frames.push(frame)
  }
  sendJson(json: string): void {
    // What goes out pre-serialized must be exactly one valid frame.
    this.send(JSON.parse(json) as ServerFrame)
  }
  subscribe(room: RoomId): boolean {
    if (this.closedWith) return false
    this.rooms.add(room)
    return true
  }
  unsubscribe(room: RoomId): void {
    this.rooms.delete(room)
  }
  publishToOthers(room: RoomId, frame: ServerFrame): void {
    for (const p of this.hub.peers) if (p !== this && p.rooms.has(room)) p.frames.push(frame)
  }
  close(code: number, reason: string): void {
    this.closedWith ??= { code, reason }
    this.rooms.clear()
  }
  /** Frames of one type, removed from the list so that later checks see only new ones. */
  take<T extends ServerFrame['type']>(type: T): Extract<ServerFrame, { type: T }>[] {
    const out = this.frames.filter((f) => f.type === type)
    for (const f of out) this.frames.splice(this.frames.indexOf(f), 1)
    return out as Extract<ServerFrame, { type: T }>[]
  }
}
