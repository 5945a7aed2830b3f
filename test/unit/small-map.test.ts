import { describe, expect, it } from 'bun:test'
import fc from 'fast-check'
import { SmallMap } from '../../src/domain/small-map.ts'

type Op =
  | { op: 'set'; key: number; value: string }
  | { op: 'delete'; key: number }
  | { op: 'clear' }
  | { op: 'getOrInsert'; key: number; value: string }

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    op: fc.constant('set' as const),
    key: fc.integer({ min: 0, max: 4 }),
    value: fc.string(),
  }),
  fc.record({ op: fc.constant('delete' as const), key: fc.integer({ min: 0, max: 4 }) }),
  fc.record({ op: fc.constant('clear' as const) }),
  fc.record({
    op: fc.constant('getOrInsert' as const),
    key: fc.integer({ min: 0, max: 4 }),
    value: fc.string(),
  }),
)

describe('SmallMap', () => {
  it('behaves as a Map after any sequence of changes, insertion order included', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        const small = new SmallMap<number, string>()
        const map = new Map<number, string>()
        for (const o of ops) {
          if (o.op === 'set') {
            expect(small.set(o.key, o.value)).toBe(small)
            map.set(o.key, o.value)
          } else if (o.op === 'delete') expect(small.delete(o.key)).toBe(map.delete(o.key))
          else if (o.op === 'clear') {
            small.clear()
            map.clear()
          } else {
            const had = map.has(o.key)
            if (!had) map.set(o.key, o.value)
            expect(small.getOrInsert(o.key, o.value)).toBe(map.get(o.key) as string)
          }
          expect(small.size).toBe(map.size)
          expect([...small]).toEqual([...map])
          expect([...small.keys()]).toEqual([...map.keys()])
          expect([...small.values()]).toEqual([...map.values()])
          for (let k = 0; k <= 4; k++) {
            expect(small.has(k)).toBe(map.has(k))
            expect(small.get(k)).toBe(map.get(k))
          }
        }
      }),
      { numRuns: 300 },
    )
  })

  it('calls forEach with value, key and itself, in order', () => {
    const small = new SmallMap<string, number>().set('a', 1).set('b', 2)
    const seen: [number, string, unknown][] = []
    small.forEach((v, k, m) => {
      seen.push([v, k, m])
    })
    expect(seen).toEqual([
      [1, 'a', small],
      [2, 'b', small],
    ])
  })

  it('treats NaN as one key, as Map does', () => {
    const small = new SmallMap<number, string>().set(Number.NaN, 'x')
    expect(small.get(Number.NaN)).toBe('x')
    expect(small.size).toBe(1)
  })
})
