/**
 * Claims signed and verified with real meshkit identities (Ed25519 device keys,
 * group credentials as proofs), and the election state kept in an identity store.
 */
import { silentLogger } from '@meshkit/log'
import { deriveGroupKey, encodeCredential, ephemeralIdentity, issueCredential, memoryStore, type DeviceIdentity } from '@meshkit/identity'
import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  claimSigningBytes,
  createElection,
  createMemoryElectionNetwork,
  encodeMessage,
  identityClaimCrypto,
  identityElectionStore,
  type Election,
  type MessageRejectedEvent,
} from '../src/index.js'
import { agreed, FAST } from './support/mesh.js'

const group = deriveGroupKey('a group secret of enough length')
const otherGroup = deriveGroupKey('another group secret, also long')
const credentialOf = (g: typeof group, d: DeviceIdentity): Uint8Array => encodeCredential(issueCredential(g, d.id, d.publicKey))

describe('identityClaimCrypto', () => {
  const alice = ephemeralIdentity()
  const bob = ephemeralIdentity()
  const { signer } = identityClaimCrypto({ identity: alice, credential: credentialOf(group, alice), groupPublicKey: group.publicKey })
  const { verifier } = identityClaimCrypto({ identity: bob, credential: credentialOf(group, bob), groupPublicKey: group.publicKey })
  const bytes = claimSigningBytes(group.tag, 7, alice.id)
  const signature = signer.sign(bytes)

  it('verifies a member’s claim from its credential alone, with no prior connection', () => {
    expect(signature.length).toBe(64)
    expect(verifier.verify(alice.id, bytes, signature, signer.proof)).toBe(true)
  })

  it('uses a key proven by the connection when there is one', () => {
    const known = identityClaimCrypto({ identity: bob, credential: credentialOf(group, bob), groupPublicKey: group.publicKey, publicKeyOf: (id) => (id === alice.id ? alice.publicKey : undefined) })
    expect(known.verifier.verify(alice.id, bytes, signature, undefined)).toBe(true)
    expect(known.verifier.verify(alice.id, claimSigningBytes(group.tag, 8, alice.id), signature, undefined)).toBe(false)
  })

  it('rejects replays into another term, another leader or another group, forgeries and foreign credentials', () => {
    expect(verifier.verify(alice.id, claimSigningBytes(group.tag, 8, alice.id), signature, signer.proof)).toBe(false)
    expect(verifier.verify(bob.id, claimSigningBytes(group.tag, 7, bob.id), signature, signer.proof)).toBe(false)
    expect(verifier.verify(alice.id, claimSigningBytes(otherGroup.tag, 7, alice.id), signature, signer.proof)).toBe(false)
    expect(verifier.verify(alice.id, bytes, new Uint8Array(64), signer.proof)).toBe(false)
    expect(verifier.verify(alice.id, bytes, signature, undefined)).toBe(false)
    // mallory, not in the group, signs a claim for herself with a credential from another group
    const mallory = ephemeralIdentity()
    const mbytes = claimSigningBytes(group.tag, 9, mallory.id)
    expect(verifier.verify(mallory.id, mbytes, mallory.sign(mbytes), credentialOf(otherGroup, mallory))).toBe(false)
    // mallory presents alice's credential for her own claim
    expect(verifier.verify(alice.id, claimSigningBytes(group.tag, 9, alice.id), mallory.sign(claimSigningBytes(group.tag, 9, alice.id)), signer.proof)).toBe(false)
    expect(verifier.verify(alice.id, bytes, signature, new Uint8Array(5))).toBe(false)
  })
})

describe('elections with meshkit identities', () => {
  let elections: Election[] = []
  afterEach(async () => {
    await Promise.all(elections.map((e) => e.stop()))
    elections = []
  })

  it('elect, take over, and reject a claim forged by a device outside the group; the term is in the identity store', async () => {
    const net = createMemoryElectionNetwork()
    const devices = [ephemeralIdentity(), ephemeralIdentity(), ephemeralIdentity()]
    const stores = devices.map(() => memoryStore())
    elections = devices.map((d, i) => {
      const { signer, verifier } = identityClaimCrypto({ identity: d, credential: credentialOf(group, d), groupPublicKey: group.publicKey })
      return createElection({ ...FAST, claimContext: group.tag, priority: i }, { transport: net.transport(d.id), signer, verifier, store: identityElectionStore(stores[i] as ReturnType<typeof memoryStore>), logger: silentLogger() })
    })
    await Promise.all(elections.map((e) => e.start()))
    net.connectAll()
    const last = devices[2] as DeviceIdentity
    expect(await agreed(elections)).toBe(last.id)
    const first = elections[0] as Election
    await first.becomeLeader()
    await agreed(elections, first.id)

    const rejected: MessageRejectedEvent[] = []
    elections[1]?.on('message:rejected', (e) => rejected.push(e))
    const mallory = ephemeralIdentity()
    const forgedFor = claimSigningBytes(group.tag, 50, mallory.id)
    net.connect(mallory.id, devices[1]?.id as string)
    net.transport(mallory.id).send(devices[1]?.id as string, encodeMessage({ kind: 'claim', claim: { term: 50, leader: mallory.id, signature: mallory.sign(forgedFor), proof: credentialOf(otherGroup, mallory) }, reply: false }))
    await vi.waitFor(() => expect(rejected.map((r) => r.error.name)).toEqual(['InvalidClaimSignatureError']), { timeout: 1_000, interval: 5 })
    expect(elections[1]?.leader).toEqual({ id: first.id, term: 2, role: 'follower' })

    const saved = await identityElectionStore(stores[1] as ReturnType<typeof memoryStore>).load()
    expect(saved).toMatchObject({ term: 2, vote: { term: 2, leader: first.id } })
    expect(saved?.vote?.signature?.length).toBe(64)
  })
})
