import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { decideDuplicate, dialPlan, isPreferredDialer, type ConnectionCandidate } from '../src/index.js'

const bytes8 = fc.uint8Array({ minLength: 8, maxLength: 8 })

describe('dialing rule', () => {
  test('exactly one of a pair dials at once; the other waits the grace period', () => {
    fc.assert(
      fc.property(fc.uuid({ version: 4 }), fc.uuid({ version: 4 }), fc.nat(), fc.nat(5000), (a, b, now, grace) => {
        fc.pre(a !== b)
        const pa = dialPlan(a, b, now, grace)
        const pb = dialPlan(b, a, now, grace)
        expect([pa.action, pb.action].sort()).toEqual(['dial-at', 'dial-now'])
        const waiting = pa.action === 'dial-at' ? pa : pb
        expect(waiting).toEqual({ action: 'dial-at', at: now + grace })
        expect(isPreferredDialer(a, b)).toBe(pa.action === 'dial-now')
      }),
    )
  })

  test('a peer without a known id is dialed at once', () => {
    expect(dialPlan('ffffffff-ffff-4fff-bfff-ffffffffffff', undefined, 0, 100)).toEqual({ action: 'dial-now' })
  })
})

describe('duplicate decision', () => {
  /** One connection between x and y as both of them see it. */
  const connection = fc.record({ dialedByX: fc.boolean(), dialerNonce: bytes8, listenerNonce: bytes8 })

  test('both sides keep the same connection, whatever order they saw them in', () => {
    fc.assert(
      fc.property(fc.uuid({ version: 4 }), fc.uuid({ version: 4 }), connection, connection, bytes8, bytes8, fc.nat(), fc.nat(), (x, y, c1, c2, epochX, epochY, s1, s2) => {
        fc.pre(x !== y && s1 !== s2)
        const view = (c: typeof c1, remoteEpoch: Uint8Array, seq: number): ConnectionCandidate => ({
          dialerId: c.dialedByX ? x : y,
          dialerNonce: c.dialerNonce,
          listenerNonce: c.listenerNonce,
          remoteEpoch,
          establishedSeq: seq,
        })
        // x saw c1 then c2; y saw them in the opposite order
        const atX = decideDuplicate(view(c1, epochY, s1), view(c2, epochY, s2), x, y)
        const atY = decideDuplicate(view(c2, epochX, s2), view(c1, epochX, s1), y, x)
        const keptAtX = atX.keep === 'a' ? c1 : c2
        const keptAtY = atY.keep === 'a' ? c2 : c1
        expect(keptAtX).toBe(keptAtY)
        expect(atX.reason).toBe('duplicate')
        // the connection dialed by the smaller id wins whenever there is one
        const smallerDialed = (c: typeof c1): boolean => (c.dialedByX ? x : y) === (x < y ? x : y)
        if (smallerDialed(c1) !== smallerDialed(c2)) {
          expect(smallerDialed(keptAtX)).toBe(true)
          expect(atX.rule).toBe('preferred-dialer')
        }
      }),
    )
  })

  test('a connection from a restarted peer (new epoch) replaces the stale one', () => {
    const base = { dialerId: 'a', dialerNonce: new Uint8Array(8), listenerNonce: new Uint8Array(8) }
    const stale = { ...base, remoteEpoch: new Uint8Array(8).fill(1), establishedSeq: 1 }
    const fresh = { ...base, remoteEpoch: new Uint8Array(8).fill(2), establishedSeq: 2 }
    expect(decideDuplicate(stale, fresh, 'a', 'b')).toEqual({ keep: 'b', reason: 'restart', rule: 'newer-epoch' })
    expect(decideDuplicate(fresh, stale, 'a', 'b')).toEqual({ keep: 'a', reason: 'restart', rule: 'newer-epoch' })
  })
})
