/**
 * createTestMesh(n, { mode: 'sandbox' }): what app developers get for tests on
 * a real (namespaced) LAN, in a few lines.
 */
import { createTestMesh, sandboxAvailable, type SandboxTestMesh } from '@meshkit/testing'
import { afterEach, describe, expect, test } from 'vitest'

const sandbox = sandboxAvailable()
if (!sandbox.ok) process.stderr.write(`sandbox createTestMesh suite skipped: ${sandbox.reason}\n`)

let tm: SandboxTestMesh | undefined
afterEach(async () => {
  await tm?.stop()
  tm = undefined
})

describe.skipIf(!sandbox.ok)("createTestMesh(4, { mode: 'sandbox' })", () => {
  test('full mesh, a leader, a broadcast; SIGKILL of the leader, a new one; restart with the same id', async () => {
    tm = await createTestMesh(4, { mode: 'sandbox', watch: ['news'] })
    await tm.waitForFullMesh()
    const first = await tm.waitForLeader()
    const sender = tm.devices.find((d) => d.id !== first.id)!
    const report = (await sender.broadcast('news', { n: 1 })) as { delivered: string[] }
    expect(report.delivered).toHaveLength(3)
    for (const d of tm.devices.filter((x) => x !== sender)) await d.proc.waitFor('msg', (e) => e.channel === 'news' && e.from === sender.id, 5_000)

    const leaderIndex = tm.devices.findIndex((d) => d.id === first.id)
    await tm.kill(leaderIndex)
    const next = await tm.waitForLeader()
    expect(next.id).not.toBe(first.id)
    expect(next.term).toBeGreaterThan(first.term)

    const back = await tm.restart(leaderIndex)
    expect(back.id).toBe(first.id)
    await tm.waitForFullMesh()
    expect((await tm.waitForLeader()).term).toBeGreaterThanOrEqual(next.term)
  }, 120_000)
})
