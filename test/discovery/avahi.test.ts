/**
 * Interop with an independent mDNS implementation: Avahi (avahi-daemon +
 * avahi-utils) in one sandbox host, meshkit in another.
 */
import { ephemeralIdentity } from '@meshkit/identity'
import { createSandboxLan, startAvahi, type Avahi, type SandboxLan } from '@meshkit/testing'
import { afterEach, describe, expect, test } from 'vitest'
import { GROUP, lost, peerOf, sandbox, startNode } from './harness.js'

let lan: SandboxLan | undefined
let avahi: Avahi | undefined
afterEach(async () => {
  await avahi?.stop()
  await lan?.destroy()
  avahi = undefined
  lan = undefined
})

const device = (): { id: string; pk: string } => {
  const d = ephemeralIdentity()
  return { id: d.id, pk: Buffer.from(d.publicKey).toString('base64') }
}

describe.skipIf(!sandbox.ok)('interop with Avahi', () => {
  test('Avahi resolves our device with its port, address, host name and TXT, and sees its goodbye', async () => {
    lan = await createSandboxLan({ hosts: 2 })
    avahi = await startAvahi(lan.host(0))
    const browser = avahi.watch('_meshkit._udp')
    const node = await startNode(lan, 1, { port: 4777 })
    const service = await browser.waitFor('=', (s) => s.name === node.id, 15_000)
    expect(service).toMatchObject({ type: '_meshkit._udp', port: 4777, address: lan.host(1).address, protocol: 'IPv4', host: `${node.id}.local` })
    expect([...service.txt!].sort()).toEqual([`g=${GROUP}`, `id=${node.id}`, `pk=${String((await node.proc.waitFor('started')).publicKey)}`, 'v=1'].sort())
    node.proc.send({ cmd: 'stop' })
    await browser.waitFor('-', (s) => s.name === node.id, 10_000)
  }, 60_000)

  test('we find a service published by Avahi (extra TXT entries ignored), never the invalid or foreign ones, and see it withdrawn', async () => {
    lan = await createSandboxLan({ hosts: 2 })
    avahi = await startAvahi(lan.host(0), { hostName: 'avahi-device' })
    const node = await startNode(lan, 1)
    // the invalid and foreign ones are established (announced) before the valid one is published:
    // once the valid one is found, the others have been on the wire before it
    const [foreign, badKey, wrongId, otherType] = [device(), device(), device(), device()]
    await Promise.all([
      avahi.publish(foreign.id, '_meshkit._udp', 4551, [`id=${foreign.id}`, `pk=${foreign.pk}`, 'v=1', 'g=0ther0group0']),
      avahi.publish(badKey.id, '_meshkit._udp', 4552, [`id=${badKey.id}`, 'pk=bm90IGEga2V5', 'v=1', `g=${GROUP}`]),
      avahi.publish(wrongId.id, '_meshkit._udp', 4553, [`id=${device().id}`, `pk=${wrongId.pk}`, 'v=1', `g=${GROUP}`]),
      avahi.publish(otherType.id, '_other._udp', 4554, [`id=${otherType.id}`, `pk=${otherType.pk}`, 'v=1', `g=${GROUP}`]),
      avahi.publish('Living Room Printer', '_meshkit._udp', 4556, [`g=${GROUP}`]),
    ])
    const good = device()
    const publisher = await avahi.publish(good.id, '_meshkit._udp', 4555, [`id=${good.id}`, `pk=${good.pk}`, 'v=1', `g=${GROUP}`, 'flag', 'empty=', `note=${'x'.repeat(200)}`, 'V=9'])

    const found = await node.proc.waitFor('found', (e) => peerOf(e).id === good.id, 15_000)
    const peer = peerOf(found)
    expect(peer.port).toBe(4555)
    expect(peer.publicKey).toBe(good.pk)
    expect(peer.addresses.filter((a) => a.family === 4).map((a) => a.host)).toEqual([lan.host(0).address])
    expect(node.proc.events.filter((e) => e.ev === 'found').map((e) => peerOf(e).id)).toEqual([good.id])

    const since = node.proc.events.length
    publisher.kill('SIGTERM') // Avahi withdraws it with goodbyes
    expect((await lost(node, good.id, 10_000, since)).reason).toBe('goodbye')
  }, 60_000)
})
