/**
 * Five devices in five network namespaces on one bridge, real mDNS, real QUIC:
 * the full mesh forms, a broadcast reaches everyone, and they agree on a leader.
 */
import { createSandboxLan, sandboxAvailable, type SandboxLan } from '@meshkit/testing'
import { afterEach, describe, expect, test } from 'vitest'
import { agreedLeader, command, deviceGroup, readyPeers, startDevices } from './harness.js'

const sandbox = sandboxAvailable()
if (!sandbox.ok) process.stderr.write(`sandbox mesh suite skipped: ${sandbox.reason}\n`)

let lan: SandboxLan | undefined
afterEach(async () => {
  await lan?.destroy()
  lan = undefined
})

describe.skipIf(!sandbox.ok)('a mesh of 5 on a sandbox LAN with real mDNS', () => {
  test('forms a full mesh, broadcasts reach every device once, one leader is agreed', async () => {
    lan = await createSandboxLan({ hosts: 5 })
    const group = deviceGroup(5, { lan, args: { watch: ['news'] } })
    const devices = await startDevices(group, 5)
    await Promise.all(devices.map((d) => readyPeers(d, 4, 20_000)))
    const leader = await agreedLeader(devices, 10_000)
    expect(devices.map((d) => d.id)).toContain(leader.id)
    const sender = devices[2]!
    const result = await command(sender, { cmd: 'broadcast', channel: 'news', payload: { n: 1 } })
    expect((result.value as { delivered: string[] }).delivered.sort()).toEqual(devices.filter((d) => d !== sender).map((d) => d.id).sort())
    for (const d of devices.filter((x) => x !== sender)) {
      const msg = await d.proc.waitFor('msg', (e) => e.from === sender.id, 5_000)
      expect(msg.payload).toEqual({ n: 1 })
    }
    for (const d of devices) {
      const report = (await command(d, { cmd: 'report' })).value as { diagnostics: { transportConnections: number } }
      expect(report.diagnostics.transportConnections).toBe(4)
    }
  }, 90_000)
})
