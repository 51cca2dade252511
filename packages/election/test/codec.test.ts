import { encode } from '@msgpack/msgpack'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  claimSigningBytes,
  decodeHello,
  decodeMessage,
  decodeState,
  ElectionDecodeError,
  encodeHello,
  encodeMessage,
  encodeState,
  MAX_ELECTION_MESSAGE_BYTES,
  type Claim,
  type ElectionMessage,
} from '../src/index.js'

const id = fc.string({ minLength: 1, maxLength: 40 })
const term = fc.integer({ min: 1, max: 2 ** 48 })
const bytes = (max: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ minLength: 1, maxLength: max })
const claim: fc.Arbitrary<Claim> = fc.record({ term, leader: id, signature: bytes(64), proof: fc.option(bytes(121), { nil: undefined }) }).map((c) => {
  const out: Claim = { term: c.term, leader: c.leader, signature: c.signature }
  if (c.proof !== undefined) out.proof = c.proof
  return out
})
const message: fc.Arbitrary<ElectionMessage> = fc.oneof(
  fc.record({ claim, reply: fc.boolean(), abandoned: fc.boolean(), leading: fc.boolean() }).map(({ claim, reply, abandoned, leading }) => {
    const m: ElectionMessage = { kind: 'claim', claim, reply }
    if (abandoned) m.abandoned = true
    if (leading) m.leading = true
    return m
  }),
  fc.record({ term, leader: id }).map(({ term, leader }): ElectionMessage => ({ kind: 'ack', term, leader })),
  term.map((term): ElectionMessage => ({ kind: 'heartbeat', term })),
  fc.record({ term, successor: fc.option(id, { nil: undefined }) }).map(({ term, successor }): ElectionMessage => (successor !== undefined ? { kind: 'handover', term, successor } : { kind: 'handover', term })),
)

describe('messages', () => {
  it('round-trip every message', () => {
    fc.assert(
      fc.property(message, (m) => {
        expect(decodeMessage(encodeMessage(m))).toEqual(m)
      }),
    )
  })

  it('stay small: a signed claim with a credential is well under 300 bytes', () => {
    const m: ElectionMessage = { kind: 'claim', claim: { term: 2 ** 40, leader: '6f1e2a3b-0000-4000-8000-000000000001', signature: new Uint8Array(64), proof: new Uint8Array(121) }, reply: true }
    expect(encodeMessage(m).length).toBeLessThan(300)
    expect(encodeMessage({ kind: 'heartbeat', term: 7 }).length).toBeLessThanOrEqual(8)
  })

  it('refuse to encode an unsigned claim', () => {
    expect(() => encodeMessage({ kind: 'claim', claim: { term: 1, leader: 'a' }, reply: false })).toThrow(TypeError)
  })

  it('reject anything malformed with a typed reason, and only with ElectionDecodeError', () => {
    const cases: Array<[unknown, string]> = [
      [new Uint8Array([0xc1]), 'not-msgpack'],
      [encode([1, 2]), 'not-a-map'],
      [encode(5), 'not-a-map'],
      [encode({ k: 9, t: 1 }), 'unknown-kind'],
      [encode({ k: 3 }), 'bad-field'],
      [encode({ k: 3, t: -1 }), 'bad-field'],
      [encode({ k: 3, t: 1.5 }), 'bad-field'],
      [encode({ k: 3, t: 2 ** 60 }), 'bad-field'],
      [encode({ k: 3, t: 2 ** 48 + 1 }), 'bad-field'],
      [encode({ k: 2, t: 1, l: '' }), 'bad-field'],
      [encode({ k: 2, t: 1, l: 'x'.repeat(200) }), 'bad-field'],
      [encode({ k: 1, c: { t: 1, l: 'a' } }), 'bad-field'], // unsigned
      [encode({ k: 1, c: { t: 0, l: 'a', g: new Uint8Array(8) } }), 'bad-field'], // claims start at 1
      [encode({ k: 1, c: { t: 1, l: 'a', g: new Uint8Array(8) }, r: 'yes' }), 'bad-field'],
      [encode({ k: 1, c: { t: 1, l: 'a', g: new Uint8Array(300) } }), 'bad-field'],
      [new Uint8Array(MAX_ELECTION_MESSAGE_BYTES + 1), 'too-large'],
    ]
    for (const [input, reason] of cases) {
      const err = catchError(() => decodeMessage(input as Uint8Array))
      expect(err, String(reason)).toBeInstanceOf(ElectionDecodeError)
      expect((err as ElectionDecodeError).reason).toBe(reason)
    }
  })

  it('never throw anything but ElectionDecodeError on arbitrary bytes (fuzz)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (raw) => {
        const err = catchError(() => decodeMessage(raw))
        if (err !== undefined) expect(err).toBeInstanceOf(ElectionDecodeError)
      }),
      { numRuns: 2_000 },
    )
    fc.assert(
      fc.property(fc.anything(), (value) => {
        let raw: Uint8Array
        try {
          raw = encode(value)
        } catch {
          return
        }
        for (const decode of [decodeMessage, decodeHello, decodeState]) {
          const err = catchError(() => decode(raw))
          if (err !== undefined) expect(err).toBeInstanceOf(ElectionDecodeError)
        }
      }),
      { numRuns: 1_000 },
    )
  })

  it('ignore unknown keys (forward compatible)', () => {
    expect(decodeMessage(encode({ k: 3, t: 4, future: [1, 2, 3] }))).toEqual({ kind: 'heartbeat', term: 4 })
  })
})

describe('hello extension and persisted state', () => {
  it('round-trip', () => {
    fc.assert(
      fc.property(
        fc.record({
          term: fc.nat(),
          role: fc.constantFrom('none' as const, 'follower' as const, 'candidate' as const, 'leader' as const),
          priority: fc.double({ noNaN: true, noDefaultInfinity: true }),
          claim: fc.option(claim, { nil: undefined }),
          roster: fc.option(fc.array(id, { maxLength: 10 }), { nil: undefined }),
        }),
        (h) => {
          const hello = { term: Math.max(h.term, h.claim?.term ?? 0), role: h.role, priority: h.priority === 0 ? 0 : h.priority }
          const full = { ...hello, ...(h.claim !== undefined ? { claim: h.claim } : {}), ...(h.roster !== undefined ? { roster: h.roster } : {}) }
          expect(decodeHello(encodeHello(full))).toEqual({ version: 1, ...full })
        },
      ),
    )
  })

  it('reject a hello whose claim is ahead of its term', () => {
    const raw = encode({ v: 1, t: 1, s: 1, p: 0, c: { t: 2, l: 'a', g: new Uint8Array(8) } })
    expect(catchError(() => decodeHello(raw))).toMatchObject({ name: 'ElectionDecodeError', reason: 'bad-field' })
  })

  it('persist an own (unsigned) vote and the roster', () => {
    const state = { term: 9, vote: { term: 9, leader: 'me' }, roster: ['a', 'me'] }
    expect(decodeState(encodeState(state))).toEqual(state)
    expect(catchError(() => decodeState(encode({ v: 2, t: 1 })))).toMatchObject({ reason: 'unsupported-version' })
  })
})

describe('claim signing bytes', () => {
  it('follow the documented layout exactly', () => {
    const out = claimSigningBytes('g1', 258, 'ab')
    const expected = [
      ...new TextEncoder().encode('meshkit/election/claim/v1'),
      0x00,
      2,
      ...new TextEncoder().encode('g1'),
      0, 0, 0, 0, 0, 0, 1, 2, // u64 BE 258
      2,
      ...new TextEncoder().encode('ab'),
    ]
    expect([...out]).toEqual(expected)
  })

  it('differ whenever context, term or leader differ (no ambiguity between fields)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 20 }), term, id, fc.string({ maxLength: 20 }), term, id, (c1, t1, l1, c2, t2, l2) => {
        fc.pre(c1 !== c2 || t1 !== t2 || l1 !== l2)
        expect(Buffer.from(claimSigningBytes(c1, t1, l1)).equals(Buffer.from(claimSigningBytes(c2, t2, l2)))).toBe(false)
      }),
    )
  })
})

function catchError(fn: () => unknown): unknown {
  try {
    fn()
  } catch (err) {
    return err
  }
  return undefined
}
