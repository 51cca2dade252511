/**
 * Seeded chaos simulations, shard 1 of 4 (the shards run in parallel). Each
 * seed replays alone with `MESHKIT_SEED=<n>`; see support/chaos.ts for what a
 * run does and checks.
 */
import { describe, expect, it } from 'vitest'
import { report, runSeeds, shardRange } from './support/chaos.js'

const [from, to] = shardRange(1, 4)

describe(`simulation: seeds ${from}..${to - 1}`, () => {
  it('keeps every invariant, converges after the last fault, stays stable, honours takeovers and fails over to the successor', () => {
    const r = runSeeds(from, to)
    expect(r.failed.map((f) => f.seed), report(r.failed)).toEqual([])
    expect(r.maxConvergeMs).toBeLessThanOrEqual(12_000)
  })
})
