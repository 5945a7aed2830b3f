import { describe, expect, it } from 'bun:test'
import { normalizeName, slugify, userKey } from '../../src/domain/names.ts'
import { ChatError } from '../../src/protocol/errors.ts'

describe('normalizeName', () => {
  it('accepts letters of any script, digits, space and - _ .', () => {
    for (const name of [
      'alice',
      'Bob Smith',
      'jean-luc_2.0',
      'Zoë',
      'Łukasz',
      '山田',
      'Δημήτρης',
    ]) {
      expect(normalizeName(name, 'username')).toBe(name)
    }
  })

  it('normalizes to NFC and trims', () => {
    const decomposed = 'Zoe\u0308'
    expect(normalizeName(` ${decomposed} `, 'username')).toBe('Zoë')
    expect(userKey(normalizeName(decomposed, 'username'))).toBe(userKey('ZOË'))
  })

  const refused: [string, string][] = [
    ['empty', ''],
    ['only spaces', '   '],
    ['33 characters', 'x'.repeat(33)],
    ['a control character', 'a\u0000b'],
    ['a newline', 'a\nb'],
    ['a zero-width space', 'a\u200bb'],
    ['a zero-width joiner', 'a\u200db'],
    ['a right-to-left override', 'a\u202eb'],
    ['a symbol', 'a<b>'],
    ['an emoji', 'a😀'],
  ]
  for (const [what, name] of refused) {
    it(`refuses ${what} with invalid_message`, () => {
      expect(() => normalizeName(name, 'username')).toThrow(ChatError)
      try {
        normalizeName(name, 'username')
      } catch (e) {
        expect((e as ChatError).code).toBe('invalid_message')
      }
    })
  }

  it('counts characters, not UTF-16 units', () => {
    expect(normalizeName('山'.repeat(32), 'room name')).toHaveLength(32)
    expect(() => normalizeName('山'.repeat(33), 'room name')).toThrow(ChatError)
  })
})

describe('slugify', () => {
  it('makes URL-safe ids of names', () => {
    expect(slugify('General Chat')).toBe('general-chat')
    expect(slugify('  Café  au lait ')).toBe('cafe-au-lait')
    expect(slugify('v1.2 release')).toBe('v1-2-release')
    expect(slugify('__proto__')).toBe('__proto__')
    expect(slugify('---')).toBe('')
  })
})
