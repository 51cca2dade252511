/** The README's snippet, as written there (console output collected instead of printed). */
import { deriveGroupKey, encodeCredential, ephemeralIdentity, issueCredential } from '@meshkit/identity'
import { expect, it, vi } from 'vitest'
import { createElection, createMemoryElectionNetwork, identityClaimCrypto, memoryElectionStore, type Election } from '../src/index.js'

it('runs the README snippet', async () => {
  const lines: string[] = []
  const log = (line: string): number => lines.push(line)

  const group = deriveGroupKey('correct horse battery staple')
  const net = createMemoryElectionNetwork()
  const devices = [ephemeralIdentity(), ephemeralIdentity(), ephemeralIdentity()]
  const elections = devices.map((identity, i) => {
    const credential = encodeCredential(issueCredential(group, identity.id, identity.publicKey))
    const { signer, verifier } = identityClaimCrypto({ identity, credential, groupPublicKey: group.publicKey })
    return createElection({ priority: i, claimContext: group.tag }, { transport: net.transport(identity.id), signer, verifier, store: memoryElectionStore() })
  })
  const first = elections[0] as Election
  first.leader$.subscribe(({ id, term, role }) => log(`leader ${id ?? '-'}, term ${term}, I am ${role}`))
  await Promise.all(elections.map((e) => e.start()))
  net.connectAll()
  await vi.waitFor(() => expect(first.leader.id).toBe(devices[2]?.id), { timeout: 3_000, interval: 10 })

  expect(await first.becomeLeader()).toMatchObject({ id: devices[0]?.id, role: 'leader' })
  // followers report it on the heartbeat sent at completion, one message later
  await vi.waitFor(() => expect(elections.map((e) => e.leader.id)).toEqual(elections.map(() => devices[0]?.id)), { timeout: 1_000, interval: 5 })
  await first.stepDown()
  await vi.waitFor(() => expect(first.leader.id).toBe(devices[2]?.id), { timeout: 3_000, interval: 10 })
  await Promise.all(elections.map((e) => e.stop()))

  expect(lines[0]).toBe('leader -, term 0, I am none')
  expect(lines).toContain(`leader ${devices[2]?.id}, term 1, I am follower`)
  expect(lines).toContain(`leader ${devices[0]?.id}, term 2, I am leader`)
  expect(lines).toContain(`leader ${devices[2]?.id}, term 3, I am follower`)
})
