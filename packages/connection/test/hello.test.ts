import { encode } from '@msgpack/msgpack'
import { deriveGroupKey, encodeCredential, ephemeralIdentity, generateGroupSecret, issueCredential } from '@meshkit/identity'
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { checkHello, ConnectionRejectedError, decodeHello, encodeHello, PROTOCOL_VERSION, type Hello } from '../src/index.js'

const group = deriveGroupKey(generateGroupSecret())
const me = ephemeralIdentity()
const peer = ephemeralIdentity()

const helloOf = (identity = peer, overrides: Partial<Hello> = {}): Hello => ({
  version: PROTOCOL_VERSION,
  id: identity.id,
  credential: encodeCredential(issueCredential(group, identity.id, identity.publicKey)),
  epoch: new Uint8Array(8).fill(1),
  nonce: new Uint8Array(8).fill(2),
  groupTag: group.tag,
  addresses: ['127.0.0.1:4000'],
  maxMessageBytes: 1024,
  windowBytes: 4096,
  ext: { election: { term: 3 } },
  ...overrides,
})

const reason = (fn: () => unknown): string => {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(ConnectionRejectedError)
    return (err as ConnectionRejectedError).reason
  }
  return 'accepted'
}

const ctx = { localId: me.id, group, tlsPublicKey: peer.publicKey }

describe('hello', () => {
  test('round-trips and passes the checks for a member proving its own key', () => {
    const hello = helloOf()
    const decoded = decodeHello(encodeHello(hello))
    expect(decoded).toEqual(hello)
    expect(checkHello(decoded, ctx).decodedCredential.deviceId).toBe(peer.id)
  })

  test('each refusal carries its reason', () => {
    const foreign = deriveGroupKey(generateGroupSecret())
    const impostor = ephemeralIdentity(peer.id)
    expect(reason(() => checkHello(helloOf(), { ...ctx, group: foreign }))).toBe('wrong-group')
    expect(reason(() => checkHello(helloOf(), { ...ctx, tlsPublicKey: impostor.publicKey }))).toBe('impostor')
    expect(reason(() => checkHello(helloOf(), { ...ctx, expectedId: ephemeralIdentity().id }))).toBe('unexpected-peer')
    expect(reason(() => checkHello(helloOf(me), { ...ctx, tlsPublicKey: me.publicKey }))).toBe('self')
    const forged = helloOf(peer, { credential: encodeCredential(issueCredential(foreign, peer.id, peer.publicKey)) })
    expect(reason(() => checkHello(forged, ctx))).toBe('bad-credential')
    expect(reason(() => checkHello(helloOf(peer, { credential: new Uint8Array(3) }), ctx))).toBe('bad-credential')
  })

  test('a hello from a future version is refused as such even if its shape is unknown', () => {
    expect(reason(() => decodeHello(encode({ v: PROTOCOL_VERSION + 1, something: 'new' })))).toBe('version-unsupported')
    expect(reason(() => decodeHello(encode({ v: 0 })))).toBe('version-unsupported')
  })

  test('any bytes decode to a hello or a typed malformed-hello/version refusal', () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 200 }), fc.anything().map((v) => encode(v, { ignoreUndefined: true }))), (bytes) => {
        const r = reason(() => decodeHello(bytes))
        expect(['malformed-hello', 'version-unsupported', 'accepted']).toContain(r)
      }),
      { numRuns: 2000 },
    )
    expect(reason(() => decodeHello(new Uint8Array(20_000)))).toBe('malformed-hello')
  })
})
