import { describe, expect, it } from 'bun:test'
import { createLogger, sessionTag } from '../../src/logger.ts'

function capture(options: Partial<Parameters<typeof createLogger>[0]> = {}) {
  const lines: { line: string; level: string }[] = []
  let now = Date.UTC(2026, 0, 1)
  const logger = createLogger({
    level: 'debug',
    format: 'json',
    nodeId: 'node-a',
    write: (line, level) => lines.push({ line, level }),
    now: () => now,
    ...options,
  })
  return {
    logger,
    lines,
    json: () => lines.map((l) => JSON.parse(l.line) as Record<string, unknown>),
    advance: (ms: number) => {
      now += ms
    },
  }
}

describe('createLogger', () => {
  it('writes one JSON object per line with time, level, node, message and the fields', () => {
    const { logger, lines, json } = capture()
    logger.info('room created', { room: 'general', private: false })
    expect(lines).toHaveLength(1)
    expect(lines[0]?.line.endsWith('\n')).toBe(true)
    expect(lines[0]?.line.split('\n')).toHaveLength(2)
    expect(json()[0]).toEqual({
      time: '2026-01-01T00:00:00.000Z',
      level: 'info',
      node: 'node-a',
      message: 'room created',
      room: 'general',
      private: false,
    })
  })

  it('drops lines under the level and says which levels are on', () => {
    const { logger, lines } = capture({ level: 'warn' })
    logger.debug('d')
    logger.info('i')
    logger.warn('w')
    logger.error('e')
    expect(lines.map((l) => l.level)).toEqual(['warn', 'error'])
    expect(logger.enabled?.('info')).toBe(false)
    expect(logger.enabled?.('error')).toBe(true)
  })

  it('never writes the value of a secret or content field', () => {
    const { logger, lines } = capture()
    logger.warn('oops', {
      password: 'hunter2',
      moderator_token: 'tok-123',
      session: 'sess-456',
      content: 'a private message',
      authorization: 'Bearer abc',
      room: 'general',
    })
    const line = lines[0]?.line ?? ''
    for (const secret of ['hunter2', 'tok-123', 'sess-456', 'a private message', 'Bearer abc'])
      expect(line).not.toContain(secret)
    expect(line).toContain('"password":"[redacted]"')
    expect(line).toContain('"room":"general"')
  })

  it('rate-limits warn and error lines per message, then tells how many it dropped', () => {
    const { logger, lines, json, advance } = capture()
    // An attack: 10,000 refusals at once write at most the burst of 10 lines.
    for (let i = 0; i < 10_000; i++)
      logger.warn('websocket refused: connections per address', { address: `10.0.0.${i % 250}` })
    expect(lines).toHaveLength(10)
    // Another message has its own budget; info lines are not limited.
    logger.warn('password attempts throttled', { address: '10.0.0.1' })
    for (let i = 0; i < 20; i++) logger.info('room created', { room: `r${i}` })
    expect(lines).toHaveLength(31)
    // One line per 6 s after that; the first one counts what was dropped.
    advance(5999)
    logger.warn('websocket refused: connections per address', { address: '10.0.0.9' })
    expect(lines).toHaveLength(31)
    advance(1)
    logger.warn('websocket refused: connections per address', { address: '10.0.0.9' })
    expect(lines).toHaveLength(32)
    expect(json()[31]).toMatchObject({ address: '10.0.0.9', suppressed: 9991 })
    // A minute of quiet refills the whole burst.
    advance(60_000)
    for (let i = 0; i < 12; i++) logger.error('unexpected error')
    expect(lines).toHaveLength(42)
  })

  it('writes colourised text for people, with the node and fields', () => {
    const { logger, lines } = capture({ format: 'pretty' })
    logger.warn('closing flooding connection', { address: '127.0.0.1', note: 'two words' })
    const line = lines[0]?.line ?? ''
    expect(line).toContain('\x1b[33mWARN')
    expect(line).toContain('[node-a]')
    expect(line).toContain('closing flooding connection')
    expect(line).toContain('127.0.0.1')
    expect(line).toContain('"two words"')
    expect(() => JSON.parse(line)).toThrow()
  })

  it('picks the pretty form on a terminal only when the format is auto', () => {
    const tty = capture({ format: 'auto', isTerminal: true })
    tty.logger.info('x')
    expect(tty.lines[0]?.line).toContain('\x1b[')
    const pipe = capture({ format: 'auto', isTerminal: false })
    pipe.logger.info('x')
    expect(JSON.parse(pipe.lines[0]?.line ?? '')).toMatchObject({ message: 'x' })
  })
})

describe('sessionTag', () => {
  it('is short, stable, and does not contain the session', () => {
    const session = 'q4E9xv0m2N8rTt1kHq0pZbWc5dYl3sAa'
    expect(sessionTag(session)).toBe(sessionTag(session))
    expect(sessionTag(session)).toHaveLength(10)
    expect(session).not.toContain(sessionTag(session))
    expect(sessionTag(`${session}x`)).not.toBe(sessionTag(session))
  })
})
