import { describe, expect, it } from 'bun:test'
import fc from 'fast-check'
import { ACTIONS, FrameError, parseClientFrame } from '../../src/protocol/frames.ts'

describe('parseClientFrame', () => {
  it('returns typed frames and keeps ref', () => {
    expect(
      parseClientFrame({ action: 'message', room: 'general', content: 'hi', ref: 'a1' }),
    ).toEqual({
      action: 'message',
      room: 'general',
      content: 'hi',
      ref: 'a1',
    })
    expect(parseClientFrame({ action: 'ping', ref: 7 })).toEqual({ action: 'ping', ref: 7 })
  })

  it('drops fields it does not know', () => {
    expect(
      parseClientFrame({ action: 'typing', room: 'x', extra: true, __proto__: { admin: true } }),
    ).toEqual({
      action: 'typing',
      room: 'x',
    })
  })

  it('names the field that is wrong', () => {
    // A missing username is the join rule's to refuse (a signed-in join needs none).
    expect(() => parseClientFrame({ action: 'join', room: 'x', username: 5 })).toThrow(
      '"username" must be a string',
    )
    expect(() =>
      parseClientFrame({ action: 'mute', room: 'x', username: 'y', duration_ms: -1 }),
    ).toThrow('"duration_ms"')
    expect(() => parseClientFrame({ action: 'history', room: 'x', limit: 1000 })).toThrow('"limit"')
  })

  it("counts a field's length in characters (code points), as JSON Schema's maxLength does", () => {
    // 64 emoji are 128 UTF-16 units, and 64 characters: a ref at the limit.
    const emoji = '\u{1F600}'
    expect(parseClientFrame({ action: 'ping', ref: emoji.repeat(64) }).ref).toBe(emoji.repeat(64))
    expect(() => parseClientFrame({ action: 'ping', ref: emoji.repeat(65) })).toThrow('"ref"')
    const room = emoji.repeat(4096)
    expect(parseClientFrame({ action: 'leave', room })).toEqual({ action: 'leave', room })
    expect(() => parseClientFrame({ action: 'leave', room: `${room}a` })).toThrow('too long')
  })

  it('takes a message id in "before" as a string or a number, nothing else', () => {
    expect(parseClientFrame({ action: 'history', room: 'x', before: 41 })).toEqual({
      action: 'history',
      room: 'x',
      before: '41',
    })
    expect(parseClientFrame({ action: 'history', room: 'x', before: '000000000041' })).toEqual({
      action: 'history',
      room: 'x',
      before: '000000000041',
    })
    for (const before of [null, true, {}, ['1']]) {
      expect(() => parseClientFrame({ action: 'history', room: 'x', before })).toThrow('"before"')
    }
  })

  it('keeps the ref and room of a bad frame so the error can echo them', () => {
    try {
      parseClientFrame({ action: 'message', room: 'general', ref: 'r9' })
      throw new Error('expected a FrameError')
    } catch (e) {
      expect(e).toBeInstanceOf(FrameError)
      expect((e as FrameError).ref).toBe('r9')
      expect((e as FrameError).room).toBe('general')
    }
  })

  it('reads last_ids into a map where "__proto__" is a plain key', () => {
    const raw = JSON.parse(
      '{"action":"resume","session":"s","last_ids":{"__proto__":"5","general":3}}',
    )
    const frame = parseClientFrame(raw)
    expect(frame.action).toBe('resume')
    if (frame.action !== 'resume') return
    expect(frame.last_ids?.general).toBe('3')
    expect(Object.keys(frame.last_ids ?? {})).toEqual(['__proto__', 'general'])
  })

  it('throws only FrameError, whatever JSON it is given', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.jsonValue(),
          fc.record(
            {
              action: fc.constantFrom(...ACTIONS, 'x'),
              room: fc.oneof(fc.string(), fc.integer(), fc.constant(null)),
              username: fc.oneof(fc.string(), fc.boolean()),
              content: fc.oneof(fc.string(), fc.double()),
              ref: fc.oneof(fc.string(), fc.integer(), fc.object()),
              duration_ms: fc.oneof(fc.integer(), fc.double()),
              last_ids: fc.oneof(fc.jsonValue(), fc.dictionary(fc.string(), fc.string())),
            },
            { requiredKeys: ['action'] },
          ),
        ),
        (value) => {
          try {
            parseClientFrame(value)
          } catch (e) {
            if (!(e instanceof FrameError)) throw e
          }
        },
      ),
      { numRuns: 2000 },
    )
  })
})
