/**
 * Devices that die: a SIGKILLed peer is noticed by every other within the
 * bound; restarted with the same identity it reconnects and replaces its stale
 * connections (also before anyone noticed it died), never leaving duplicates;
 * a graceful stop is seen at once.
 */
import { afterEach, describe, expect, test } from 'vitest'
import { connectionKeys, ProcessMesh } from './harness.js'

const N = 5
const DETECTION_BOUND_MS = 2_000

let mesh: ProcessMesh | undefined
afterEach(async () => {
  await mesh?.destroy()
  mesh = undefined
})

async function formedMesh(): Promise<ProcessMesh> {
  mesh = new ProcessMesh(N, {}, true)
  await mesh.spawn()
  await mesh.start()
  mesh.introduce(true)
  await mesh.until((r) => r.diagnostics.activePeers === N - 1 && r.diagnostics.transportConnections === N - 1, 20_000, 'full mesh')
  return mesh
}

async function restart(m: ProcessMesh, i: number): Promise<void> {
  m.procs[i] = m.spawnOne(i)
  await m.procs[i].waitFor('ready', () => true, 20_000)
  const started = await m.procs[i].request({ cmd: 'start', listen: [`127.0.0.1:${m.info[i]!.port}`] }, 'started', 20_000)
  expect(started.id).toBe(m.info[i]!.id) // same identity from its store
  const others = m.info.filter((_, j) => j !== i)
  m.procs[i].send({ cmd: 'addPeer', peers: others.map((n) => ({ id: n.id, publicKey: n.publicKey, addresses: [`127.0.0.1:${n.port}`] })) })
}

describe('peer failures across processes', () => {
  test('kill -9: every survivor notices within the bound; the restarted peer replaces its connections', async () => {
    const m = await formedMesh()
    const victim = m.info[N - 1]!
    const since = m.procs.map((p) => p.events.length)
    const killedAt = Date.now()
    await m.procs[N - 1]!.kill('SIGKILL')
    const noticed = await Promise.all(
      m.procs.slice(0, N - 1).map((p, i) => p.waitFor('peer:disconnected', (e) => e.peerId === victim.id, 10_000, since[i])),
    )
    const detection = noticed.map((e) => (e.t as number) - killedAt)
    expect(Math.max(...detection), `detection times ${detection.join(', ')} ms`).toBeLessThan(DETECTION_BOUND_MS)
    expect(noticed.every((e) => e.reason === 'transport-closed' || e.reason === 'heartbeat-timeout')).toBe(true)

    await restart(m, N - 1)
    const reports = await m.until((r) => r.diagnostics.activePeers === N - 1 && r.diagnostics.transportConnections === N - 1, 20_000, 'mesh after restart')
    expect(connectionKeys(reports).problems).toEqual([])
  }, 90_000)

  test('kill -9 and restart before anyone noticed: the new session replaces the stale connection at once', async () => {
    const m = await formedMesh()
    const victim = m.info[N - 1]!
    const since = m.procs.map((p) => p.events.length)
    await m.procs[N - 1]!.kill('SIGKILL')
    await restart(m, N - 1)
    const reports = await m.until((r) => r.diagnostics.activePeers === N - 1 && r.diagnostics.transportConnections === N - 1, 20_000, 'mesh after restart')
    expect(connectionKeys(reports).problems).toEqual([])
    // each survivor is connected to the victim's new process: either it saw the new
    // session replace the stale one ('restart'), or it noticed the death first
    for (let i = 0; i < N - 1; i++) {
      const replaced = m.events(i, 'connection:duplicate-closed', since[i]).filter((e) => e.peerId === victim.id)
      const reconnected = m.events(i, 'peer:connected', since[i]).filter((e) => e.peerId === victim.id)
      expect(reconnected.length).toBeGreaterThanOrEqual(1)
      for (const e of replaced) expect(e.reason).toBe('restart')
    }
    const restarts = m.procs.slice(0, N - 1).flatMap((_, i) => m.events(i, 'connection:duplicate-closed', since[i]).filter((e) => e.reason === 'restart'))
    expect(restarts.length, 'at least one survivor saw the restart before its idle timeout').toBeGreaterThan(0)
  }, 90_000)

  test('a graceful stop is seen at once as peer-shutdown; the others keep their connections', async () => {
    const m = await formedMesh()
    const leaving = m.info[0]!
    const since = m.procs.map((p) => p.events.length)
    await m.procs[0]!.request({ cmd: 'stop' }, 'stopped', 10_000)
    const seen = await Promise.all(m.procs.slice(1).map((p, i) => p.waitFor('peer:disconnected', (e) => e.peerId === leaving.id, 5_000, since[i + 1])))
    expect(seen.map((e) => e.reason)).toEqual(Array(N - 1).fill('peer-shutdown'))
    await m.until((r, i) => i === 0 || (r.diagnostics.activePeers === N - 2 && r.diagnostics.transportConnections === N - 2), 10_000, 'survivors keep one connection each')
  }, 60_000)
})
