/**
 * A Map that holds its first entry in two fields and makes a real Map only for a
 * second one. Most sessions are in one room: a `Map` with one entry costs ~256 bytes
 * of heap (its table is allocated for several), this ~48. Same behaviour as `Map`,
 * insertion order included.
 */
export class SmallMap<K, V> implements Map<K, V> {
  private oneKey: K | undefined = undefined
  private oneValue: V | undefined = undefined
  private hasOne = false
  /** Every entry, once there were two at the same time; dropped again when empty. */
  private many: Map<K, V> | undefined = undefined

  get size(): number {
    return this.many ? this.many.size : this.hasOne ? 1 : 0
  }

  get [Symbol.toStringTag](): string {
    return 'SmallMap'
  }

  get(key: K): V | undefined {
    if (this.many) return this.many.get(key)
    return this.hasOne && Object.is(this.oneKey, key) ? this.oneValue : undefined
  }

  has(key: K): boolean {
    if (this.many) return this.many.has(key)
    return this.hasOne && Object.is(this.oneKey, key)
  }

  set(key: K, value: V): this {
    if (this.many) this.many.set(key, value)
    else if (!this.hasOne || Object.is(this.oneKey, key)) {
      this.oneKey = key
      this.oneValue = value
      this.hasOne = true
    } else {
      this.many = new Map([[this.oneKey as K, this.oneValue as V]])
      this.many.set(key, value)
      this.clearOne()
    }
    return this
  }

  getOrInsert(key: K, value: V): V {
    if (!this.has(key)) this.set(key, value)
    return this.get(key) as V
  }

  getOrInsertComputed(key: K, compute: (key: K) => V): V {
    if (!this.has(key)) this.set(key, compute(key))
    return this.get(key) as V
  }

  delete(key: K): boolean {
    if (this.many) {
      const deleted = this.many.delete(key)
      if (this.many.size === 0) this.many = undefined
      return deleted
    }
    if (!this.has(key)) return false
    this.clearOne()
    return true
  }

  clear(): void {
    this.many = undefined
    this.clearOne()
  }

  forEach(fn: (value: V, key: K, map: Map<K, V>) => void, thisArg?: unknown): void {
    for (const [k, v] of this.entries()) fn.call(thisArg, v, k, this)
  }

  *entries(): MapIterator<[K, V]> {
    if (this.many) yield* this.many.entries()
    else if (this.hasOne) yield [this.oneKey as K, this.oneValue as V]
  }

  *keys(): MapIterator<K> {
    for (const [k] of this.entries()) yield k
  }

  *values(): MapIterator<V> {
    for (const [, v] of this.entries()) yield v
  }

  [Symbol.iterator](): MapIterator<[K, V]> {
    return this.entries()
  }

  private clearOne(): void {
    this.oneKey = undefined
    this.oneValue = undefined
    this.hasOne = false
  }
}
