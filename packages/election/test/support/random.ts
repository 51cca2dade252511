/** A small seeded PRNG (sfc32, seeded through splitmix32) and helpers: simulations replay from their seed. */
export class Random {
  private a: number
  private b: number
  private c: number
  private d: number

  constructor(readonly seed: number) {
    let s = seed >>> 0
    const next = (): number => {
      s = (s + 0x9e3779b9) >>> 0
      let z = s
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
      return (z ^ (z >>> 16)) >>> 0
    }
    this.a = next()
    this.b = next()
    this.c = next()
    this.d = next()
    for (let i = 0; i < 12; i++) this.float()
  }

  /** Uniform in [0, 1). */
  float(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0
    this.d = (this.d + 1) >>> 0
    this.a = this.b ^ (this.b >>> 9)
    this.b = (this.c + (this.c << 3)) >>> 0
    this.c = (this.c << 21) | (this.c >>> 11)
    this.c = (this.c + t) >>> 0
    return t / 4294967296
  }

  /** Uniform in [min, max]. */
  between(min: number, max: number): number {
    return min + this.float() * (max - min)
  }

  /** Integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.float() * (max - min + 1))
  }

  chance(p: number): boolean {
    return this.float() < p
  }

  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.float() * items.length)]
    if (item === undefined) throw new RangeError('pick from an empty list')
    return item
  }

  shuffle<T>(items: readonly T[]): T[] {
    const out = [...items]
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.float() * (i + 1))
      const t = out[i] as T
      out[i] = out[j] as T
      out[j] = t
    }
    return out
  }
}

/** A device id shaped like a UUID: random leading bits (so the id order is random), unique per index. */
export function simId(i: number, rng: Random): string {
  const hex = (n: number, w: number): string => n.toString(16).padStart(w, '0')
  return `${hex(rng.int(0, 0xffffffff) >>> 0, 8)}-${hex(rng.int(0, 0xffff), 4)}-4000-8000-${hex(i, 12)}`
}
