import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { acceptsTerm, compareClaims, majorityOf, successorOrder } from '../src/index.js'

const candidates = fc.uniqueArray(fc.record({ id: fc.string({ minLength: 1, maxLength: 8 }), priority: fc.integer({ min: -3, max: 3 }) }), {
  selector: (c) => c.id,
  maxLength: 12,
})

describe('successor order', () => {
  it('is the same whatever order a device learned its peers in (every device computes the same successor)', () => {
    fc.assert(
      fc.property(candidates, fc.nat(), (list, seed) => {
        const shuffled = [...list].sort((a, b) => ((a.id.charCodeAt(0) * 31 + seed) % 7) - ((b.id.charCodeAt(0) * 31 + seed) % 7))
        expect(successorOrder(shuffled)).toEqual(successorOrder(list))
      }),
    )
  })

  it('puts higher priority first, then the smaller id', () => {
    expect(successorOrder([{ id: 'b', priority: 0 }, { id: 'c', priority: 1 }, { id: 'a', priority: 0 }]).map((c) => c.id)).toEqual(['c', 'a', 'b'])
  })

  it('moves the preferred successor of a handover first and keeps the rest in order', () => {
    fc.assert(
      fc.property(candidates, fc.nat(), (list, i) => {
        fc.pre(list.length > 0)
        const preferred = list[i % list.length]?.id as string
        const out = successorOrder(list, preferred)
        expect(out[0]?.id).toBe(preferred)
        expect(out.slice(1)).toEqual(successorOrder(list).filter((c) => c.id !== preferred))
      }),
    )
  })
})

describe('claims', () => {
  it('are totally ordered: higher term, then smaller leader id', () => {
    const claim = fc.record({ term: fc.nat(5), leader: fc.constantFrom('a', 'b', 'c') })
    fc.assert(
      fc.property(claim, claim, claim, (x, y, z) => {
        expect(Math.sign(compareClaims(x, y)) + Math.sign(compareClaims(y, x))).toBe(0)
        if (compareClaims(x, y) <= 0 && compareClaims(y, z) <= 0) expect(compareClaims(x, z)).toBeLessThanOrEqual(0)
        expect(compareClaims(x, y) === 0).toBe(x.term === y.term && x.leader === y.leader)
      }),
    )
    expect(compareClaims({ term: 3, leader: 'z' }, { term: 2, leader: 'a' })).toBeLessThan(0)
    expect(compareClaims({ term: 3, leader: 'a' }, { term: 3, leader: 'b' })).toBeLessThan(0)
  })
})

describe('fencing and majorities', () => {
  it('accept the current term and newer, drop older and nonsense', () => {
    expect(acceptsTerm(5, 5)).toBe(true)
    expect(acceptsTerm(5, 6)).toBe(true)
    expect(acceptsTerm(5, 4)).toBe(false)
    expect(acceptsTerm(5, Number.NaN)).toBe(false)
    expect(acceptsTerm(5, 5.5)).toBe(false)
  })

  it('majority of n', () => {
    expect([1, 2, 3, 4, 5, 6].map(majorityOf)).toEqual([1, 2, 2, 3, 3, 4])
  })
})
