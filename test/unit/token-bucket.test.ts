import { describe, expect, it } from 'bun:test'
import { TokenBucket } from '../../src/domain/token-bucket.ts'
import { FakeClock } from '../support/fake-clock.ts'

function drain(bucket: TokenBucket): number {
  let n = 0
  while (bucket.take()) n++
  return n
}

describe('TokenBucket', () => {
  it('starts full: gives exactly the burst, then refuses', () => {
    const bucket = new TokenBucket(new FakeClock(), 10, 10)
    expect(drain(bucket)).toBe(10)
    expect(bucket.take()).toBe(false)
  })

  it('has no token one ms before the next is due, and has it at that ms', () => {
    const clock = new FakeClock()
    const bucket = new TokenBucket(clock, 10, 10)
    drain(bucket)
    clock.advance(99)
    expect(bucket.peek()).toBe(false)
    expect(bucket.take()).toBe(false)
    clock.advance(1)
    expect(bucket.peek()).toBe(true)
    expect(bucket.take()).toBe(true)
    expect(bucket.take()).toBe(false)
  })

  it('refills at the sustained rate, never past the capacity', () => {
    const clock = new FakeClock()
    const bucket = new TokenBucket(clock, 5, 2)
    drain(bucket)
    clock.advance(1500)
    expect(drain(bucket)).toBe(3)
    clock.advance(60_000)
    expect(bucket.isFull()).toBe(true)
    expect(drain(bucket)).toBe(5)
  })

  it('keeps fractions of a token between calls', () => {
    const clock = new FakeClock()
    const bucket = new TokenBucket(clock, 1, 1)
    drain(bucket)
    for (let i = 0; i < 3; i++) {
      clock.advance(333)
      expect(bucket.take()).toBe(false)
    }
    clock.advance(1)
    expect(bucket.take()).toBe(true)
  })

  it('peek does not take a token', () => {
    const bucket = new TokenBucket(new FakeClock(), 2, 1)
    expect(bucket.peek()).toBe(true)
    expect(bucket.peek()).toBe(true)
    expect(drain(bucket)).toBe(2)
    expect(bucket.peek()).toBe(false)
  })

  it('refund gives one token back, but not past the capacity', () => {
    const bucket = new TokenBucket(new FakeClock(), 3, 1)
    expect(bucket.take()).toBe(true)
    bucket.refund()
    bucket.refund()
    expect(bucket.isFull()).toBe(true)
    expect(drain(bucket)).toBe(3)
  })

  it('is full only when every token is back', () => {
    const clock = new FakeClock()
    const bucket = new TokenBucket(clock, 2, 1)
    expect(bucket.isFull()).toBe(true)
    bucket.take()
    clock.advance(999)
    expect(bucket.isFull()).toBe(false)
    clock.advance(1)
    expect(bucket.isFull()).toBe(true)
  })

  it('says how many whole seconds until the next token (0 when one is there)', () => {
    const clock = new FakeClock()
    const perMinute = new TokenBucket(clock, 2, 2 / 60)
    expect(perMinute.retryAfterS()).toBe(0)
    drain(perMinute)
    expect(perMinute.retryAfterS()).toBe(30)
    clock.advance(29_001)
    expect(perMinute.retryAfterS()).toBe(1)
    clock.advance(999)
    expect(perMinute.retryAfterS()).toBe(0)
    expect(perMinute.take()).toBe(true)
  })

  it('has the token at the exact ms it is due, however many small refills led there', () => {
    const clock = new FakeClock()
    const bucket = new TokenBucket(clock, 2, 2 / 60)
    drain(bucket)
    let waited = 0
    while (!bucket.take()) {
      clock.advance(1)
      waited++
    }
    expect(waited).toBe(30_000)
  })

  it('does not refill when the clock stands still or goes back', () => {
    const clock = new FakeClock()
    const bucket = new TokenBucket(clock, 1, 1000)
    drain(bucket)
    expect(bucket.take()).toBe(false)
    expect(bucket.take()).toBe(false)
    clock.advance(-5000)
    expect(bucket.take()).toBe(false)
  })
})
