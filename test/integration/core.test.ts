import { afterEach, beforeEach, describe, expect, it } from 'bun:test'
import { startServer, type TestServer } from '../support/server.ts'
import { TestClient } from '../support/ws-client.ts'

let server: TestServer
const clients: TestClient[] = []

async function connect(): Promise<TestClient> {
  const c = await TestClient.connect(server.wsUrl)
  clients.push(c)
  return c
}

beforeEach(() => {
  server = startServer()
})

afterEach(async () => {
  for (const c of clients.splice(0)) c.close()
  await server.stop()
  expect(server.logger.errors()).toEqual([])
})

describe('chat over WebSocket', () => {
  it('delivers a message to every member, the sender included', async () => {
    const alice = await connect()
    const bob = await connect()
    await alice.join('general', 'alice')
    await bob.join('general', 'bob')
    const toAlice = alice.next('message')
    const toBob = bob.next('message')
    alice.send({ action: 'message', room: 'general', content: 'Hello!' })
    const [a, b] = await Promise.all([toAlice, toBob])
    expect(b).toMatchObject({ type: 'message', room: 'general', sender: 'alice', content: 'Hello!' })
    expect(a).toEqual(b)
    expect(typeof b.id).toBe('string')
    expect(Math.abs(b.ts - Date.now())).toBeLessThan(5000)
  })
})
