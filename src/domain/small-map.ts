/**
 * A Map that holds its first entry in two fields and makes a real Map only for a
 * second one. Most sessions are in one room: a `Map` with one entry costs ~256 bytes
 * of heap (its table is allocated for several), this 48. Same behaviour as `Map`,
 * insertion order included.
 */
export class SmallMap<K, V> implements Map<K, V> {
  // Four fields and no accessor: JSC gives such an object 48 bytes; a fifth field, a
  // getter on the class (`size` as Map has it) or a property added to the prototype
  // afterwards (even Symbol.toStringTag) takes it to 64.
  private oneKey: K | undefined = undefined
  private oneValue: V | undefined = undefined
  /** Every entry, once there were two at the same time; dropped again when empty. */
  private many: Map<K, V> | undefined = undefined
  /** Kept up to date by every change. Without `many`, 1 means the two fields hold an entry. */
  size = 0
  /** For the Map type only: not defined at run time (see above). */
  declare readonly [Symbol.toStringTag]: string

  private hasOne(key: K): boolean {
    return this.many === undefined && this.size === 1 && Object.is(this.oneKey, key)
  }

  get(key: K): V | undefined {
    if (this.many) return this.many.get(key)
    return this.hasOne(key) ? this.oneValue : undefined
  }

  has(key: K): boolean {
    if (this.many) return this.many.has(key)
    return this.hasOne(key)
  }

  set(key: K, value: V): this {
    if (this.many) {
      this.many.set(key, value)
      this.size = this.many.size
    } else if (this.size === 0 || Object.is(this.oneKey, key)) {
      this.oneKey = key
      this.oneValue = value
      this.size = 1
    } else {
      this.many = new Map([[this.oneKey as K, this.oneValue as V]])
      this.many.set(key, value)
      this.size = this.many.size
      this.oneKey = undefined
      this.oneValue = undefined
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
      this.size = this.many.size
      if (this.size === 0) this.many = undefined
      return deleted
    }
    if (!this.hasOne(key)) return false
    this.clear()
    return true
  }

  clear(): void {
    this.many = undefined
    this.oneKey = undefined
    this.oneValue = undefined
    this.size = 0
  }

  forEach(fn: (value: V, key: K, map: Map<K, V>) => void, thisArg?: unknown): void {
    for (const [k, v] of this.entries()) fn.call(thisArg, v, k, this)
  }

  *entries(): MapIterator<[K, V]> {
    if (this.many) yield* this.many.entries()
    else if (this.size === 1) yield [this.oneKey as K, this.oneValue as V]
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
}
