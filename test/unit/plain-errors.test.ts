import { describe, expect, it } from 'bun:test'
import { ERRORS, type ErrorCode } from '../../src/protocol/errors.ts'
import { needsPassword, plainError } from '../../src/web/plain-errors.ts'

describe('plainError (the chat page’s wording)', () => {
  it('names the room and the username where they matter', () => {
    expect(plainError('room_full', 'Room is full', { room: 'Lobby' })).toBe(
      '“Lobby” is full. Try again later, or pick another room.',
    )
    expect(
      plainError('username_taken', 'Username taken', { room: 'Lobby', username: 'alice' }),
    ).toBe('The name “alice” is already taken in “Lobby”. Choose another username.')
  })

  it('tells the not_authorized cases apart by the server’s message', () => {
    const say = (message: string) => plainError('not_authorized', message, { room: 'Ops' })
    expect(say('Wrong password')).toBe('Wrong password for “Ops”.')
    expect(say('You are banned from this room')).toBe('You are banned from “Ops”.')
    expect(say('You are muted in this room')).toBe(
      'You are muted in “Ops”: your message was not sent.',
    )
    expect(say('Only a moderator may do that')).toBe('Only a moderator of “Ops” may do that.')
    expect(say('Something new')).toBe('Not allowed: Something new')
  })

  it('says who may change a message, and what a mute stops, in the server’s own cases', () => {
    const say = (message: string, action?: 'edit' | 'delete' | 'react') =>
      plainError('not_authorized', message, { room: 'Ops', action })
    expect(say('Only its sender may edit a message', 'edit')).toBe(
      'Only its sender may edit that message.',
    )
    expect(say('Only its sender or a moderator may delete a message', 'delete')).toBe(
      'Only its sender or a moderator may delete that message.',
    )
    expect(say('A system note cannot be edited, deleted or reacted to', 'react')).toBe(
      'A system note cannot be changed.',
    )
    expect(say('You are muted in this room', 'react')).toBe(
      'You are muted in “Ops”: you cannot edit or react for now.',
    )
  })

  it('says "too fast" for rate limits, differently for messages', () => {
    expect(plainError('rate_limited', 'x', { action: 'send' })).toContain(
      'sending messages too fast',
    )
    expect(plainError('rate_limited', 'x', { action: 'join' })).toContain('Too many attempts')
  })

  it('has its own sentence for every protocol error code a chat can meet', () => {
    const fallback = plainError('internal_error', '')
    // not_found is REST-only; internal_error is the fallback itself.
    const codes = (Object.keys(ERRORS) as ErrorCode[]).filter(
      (code) => code !== 'not_found' && code !== 'internal_error',
    )
    for (const code of codes) {
      const text = plainError(code, 'server message', { room: 'Lobby' })
      expect({ code, text }).not.toEqual({ code, text: fallback })
      expect(text).not.toContain('_')
    }
  })

  it('asks for a password only when the room needs one', () => {
    expect(needsPassword('not_authorized', 'This room needs a password')).toBe(true)
    expect(needsPassword('not_authorized', 'Wrong password')).toBe(false)
    expect(needsPassword('room_full', 'This room needs a password')).toBe(false)
  })
})
