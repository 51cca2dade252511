/**
 * Elections over the in-memory network with real, short timers: the driver as
 * the app uses it. Conditions are awaited with deadlines (`vi.waitFor`).
 */
import { silentLogger } from '@meshkit/log'
import { expect, vi } from 'vitest'
import { createElection, createMemoryElectionNetwork, memoryElectionStore, type Election, type ElectionInit, type MemoryElectionNetwork, type MemoryElectionStore } from '../../src/index.js'
import { fakeSigner, fakeVerifier } from './fake-crypto.js'

/** Timings scaled down ~10x so tests run fast; the ratios are the defaults'. */
export const FAST: ElectionInit = {
  heartbeatIntervalMs: 20,
  heartbeatTimeoutMs: 100,
  successorTimeoutMs: 60,
  quietPeriodMs: 30,
  maxQuietMs: 300,
  leaderAbsentGraceMs: 150,
  stepDownHoldMs: 150,
  takeoverTimeoutMs: 500,
  stepDownTimeoutMs: 500,
  stopHandoverMs: 100,
  claimContext: 'test',
}

export interface TestMesh {
  net: MemoryElectionNetwork
  ids: string[]
  elections: Election[]
  stores: MemoryElectionStore[]
  byId: (id: string) => Election
  add: (id: string, init?: ElectionInit, store?: MemoryElectionStore) => Election
  stopAll: () => Promise<void>
}

/** Devices `d0`, `d1`, ... (so `d0` has the smallest id); priorities optional. */
export function createTestMesh(count: number, init: ElectionInit = {}, priorities: number[] = []): TestMesh {
  const net = createMemoryElectionNetwork()
  const mesh: TestMesh = {
    net,
    ids: [],
    elections: [],
    stores: [],
    byId: (id) => mesh.elections[mesh.ids.indexOf(id)] as Election,
    add(id, extra = {}, store = memoryElectionStore()) {
      const election = createElection({ ...FAST, ...init, ...extra }, { transport: net.transport(id), signer: fakeSigner(id), verifier: fakeVerifier, store, logger: silentLogger() })
      const at = mesh.ids.indexOf(id)
      if (at >= 0) {
        mesh.elections[at] = election
        mesh.stores[at] = store
      } else {
        mesh.ids.push(id)
        mesh.elections.push(election)
        mesh.stores.push(store)
      }
      return election
    },
    async stopAll() {
      await Promise.all(mesh.elections.map((e) => e.stop()))
    },
  }
  for (let i = 0; i < count; i++) mesh.add(`d${i}`, priorities[i] !== undefined ? { priority: priorities[i] } : {})
  return mesh
}

/** Waits until every given election reports the same leader and term, exactly one of them leading; returns the leader's id. */
export async function agreed(elections: Election[], expected?: string, timeout = 2_000): Promise<string> {
  return vi.waitFor(
    () => {
      const views = elections.map((e) => e.leader)
      const leaders = elections.filter((e) => e.leader.role === 'leader')
      expect(leaders.length).toBe(1)
      const leader = leaders[0] as Election
      if (expected !== undefined) expect(leader.id).toBe(expected)
      for (const v of views) expect(v).toMatchObject({ id: leader.id, term: leader.leader.term })
      return leader.id
    },
    { timeout, interval: 5 },
  )
}
