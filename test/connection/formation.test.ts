/**
 * Ten devices in ten processes, started together with full static address
 * lists: every trial must end with exactly 45 connections, each carrying
 * messages both ways. Half the trials give addresses only (every device dials
 * every other at once: the duplicate rule does all the work), half give ids
 * too (the dialing rule avoids most duplicates).
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { connectionKeys, ProcessMesh } from './harness.js'

const NODES = 10
const TRIALS = 20
const PAIRS = (NODES * (NODES - 1)) / 2

describe(`${NODES} processes, ${TRIALS} trials`, () => {
  const mesh = new ProcessMesh(NODES)
  beforeAll(() => mesh.spawn(), 60_000)
  afterAll(() => mesh.destroy())

  test('every trial ends with exactly one connection per pair, used from both sides', async () => {
    const outcomes: Array<{ trial: number; withIds: boolean; connections: number; duplicatesClosed: number }> = []
    for (let trial = 0; trial < TRIALS; trial++) {
      const withIds = trial % 2 === 1
      const since = mesh.procs.map((p) => p.events.length)
      await mesh.start()
      mesh.introduce(withIds)
      await mesh.until((r) => r.diagnostics.activePeers === NODES - 1 && r.diagnostics.transportConnections === NODES - 1 && r.diagnostics.pendingHellos === 0, 30_000, `trial ${trial}: full mesh`)
      // every device sends one message to each peer over the connection it uses
      await Promise.all(mesh.procs.map((p) => p.request({ cmd: 'probe', text: `trial-${trial}` }, 'probed')))
      const reports = await mesh.until((r) => Object.keys(r.received).length === NODES - 1, 10_000, `trial ${trial}: probes delivered`)
      const { keys, problems } = connectionKeys(reports)
      expect(problems, `trial ${trial}`).toEqual([])
      expect(keys.size).toBe(PAIRS)
      for (const r of reports) {
        // received from every peer, exactly once
        expect(Object.values(r.received)).toEqual(Array(NODES - 1).fill(1))
        expect(Object.keys(r.received).sort()).toEqual(r.peers.filter((p) => p.state === 'connected').map((p) => p.id).sort())
      }
      const duplicatesClosed = mesh.procs.reduce((n, _, i) => n + mesh.events(i, 'connection:duplicate-closed', since[i]).length, 0)
      outcomes.push({ trial, withIds, connections: keys.size, duplicatesClosed })
      await mesh.stopLayers()
    }
    expect(outcomes.map((o) => o.connections)).toEqual(Array(TRIALS).fill(PAIRS))
    // addresses-only trials exercise the duplicate rule; both sides report each decision
    expect(outcomes.filter((o) => !o.withIds).some((o) => o.duplicatesClosed > 0)).toBe(true)
  }, 600_000)
})
