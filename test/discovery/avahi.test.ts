/**
 * Interop with an independent mDNS implementation: Avahi (avahi-daemon +
 * avahi-utils) in one sandbox host, meshkit in another.
 */
import { ephemeralIdentity } from '@meshkit/identity'
import { createSandboxLan, startAvahi, type Avahi, type AvahiService, type SandboxLan } from '@meshkit/testing'
import { afterEach, describe, expect, test } from 'vitest'
import { GROUP, sandbox, startNode } from './harness.js'

let lan: SandboxLan | undefined
let avahi: Avahi | undefined
afterEach(async () => {
  await avahi?.stop()
  await lan?.destroy()
  avahi = undefined
  lan = undefined
})

async function pollBrowse(a: Avahi, match: (s: AvahiService) => boolean, timeoutMs: number): Promise<AvahiService> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const hit = a.browse('_meshkit._udp').find(match)
    if (hit !== undefined) return hit
    if (Date.now() > deadline) throw new Error(`avahi-browse did not show the service within ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 100)) // avahi-browse -t prints its cache and exits: ask again
  }
}

describe.skipIf(!sandbox.ok)('interop with Avahi', () => {
  test('avahi-browse sees our device with its port and TXT', async () => {
    lan = await createSandboxLan({ hosts: 2 })
    avahi = await startAvahi(lan.host(0))
    const node = await startNode(lan, 1, { port: 4777 })
    const service = await pollBrowse(avahi, (s) => s.name === node.id, 15_000)
    expect(service).toMatchObject({ type: '_meshkit._udp', port: 4777, address: lan.host(1).address, protocol: 'IPv4' })
    expect(service.host).toBe(`${node.id}.local`)
    expect(service.txt.sort()).toEqual([`g=${GROUP}`, `id=${node.id}`, `pk=${String((await node.proc.waitFor('started')).publicKey)}`, 'v=1'].sort())
  }, 60_000)

  test('our browser finds a service published with avahi-publish-service', async () => {
    lan = await createSandboxLan({ hosts: 2 })
    avahi = await startAvahi(lan.host(0), { hostName: 'avahi-device' })
    const node = await startNode(lan, 1)
    const device = ephemeralIdentity()
    const pk = Buffer.from(device.publicKey).toString('base64')
    avahi.publish(device.id, '_meshkit._udp', 4555, [`id=${device.id}`, `pk=${pk}`, 'v=1', `g=${GROUP}`])
    const found = await node.proc.waitFor('found', (e) => (e.peer as { id: string }).id === device.id, 15_000)
    const peer = found.peer as { port: number; publicKey: string; addresses: Array<{ host: string; family: number }> }
    expect(peer.port).toBe(4555)
    expect(peer.publicKey).toBe(pk)
    expect(peer.addresses.filter((a) => a.family === 4).map((a) => a.host)).toEqual([lan.host(0).address])
  }, 60_000)
})
