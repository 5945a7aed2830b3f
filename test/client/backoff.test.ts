import { describe, expect, it } from 'bun:test'
import { backoffDelay } from '../../src/client/backoff.ts'

describe('backoffDelay', () => {
  it('waits a random share of a ceiling that doubles per attempt up to the maximum', () => {
    const almostOne = () => 0.999
    expect([0, 1, 2, 3, 4, 5, 40].map((n) => backoffDelay(n, 100, 1000, almostOne))).toEqual([
      99, 199, 399, 799, 999, 999, 999,
    ])
    expect(backoffDelay(3, 100, 1000, () => 0)).toBe(0)
    expect(backoffDelay(3, 100, 1000, () => 0.5)).toBe(400)
  })
})
