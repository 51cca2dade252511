/**
 * A receiver of the broadcast benchmark, in its own process: a mesh (static
 * peers, loopback) and a bare libp2p QUIC node, each with a counting sink and
 * an echo.
 */
import '@meshkit/connection/polyfill'
import { silentLogger } from '@meshkit/log'
import { createMesh } from '@meshkit/mesh'
import { createInterface } from 'node:readline'
import { byteSink, echo, rawNode } from './_raw-handlers.js'

const secret = process.argv[2]!
const out = (ev: string, data: Record<string, unknown> = {}): void => void process.stdout.write(`${JSON.stringify({ ev, ...data })}\n`)

const mesh = await createMesh({ group: { secret }, storage: 'memory', discovery: 'none', loopbackOnly: true, election: { manualOnly: true }, logger: silentLogger() })
// Each throughput round is announced on 'ctl' ({ round, count }) and its
// messages carry the round in their first byte; the two channels are separate
// streams, so either may arrive first.
const expected = new Map<number, number>()
const counts = new Map<number, number>()
const check = (round: number, from: string): void => {
  if (counts.get(round) === expected.get(round)) void mesh.send(from, 'done', round)
}
mesh.messages$('ctl').subscribe((m) => {
  const { round, count } = m.payload as { round: number; count: number }
  expected.set(round, count)
  check(round, m.from)
})
mesh.messages$('bench').subscribe((m) => {
  const round = (m.payload as Uint8Array)[0]!
  counts.set(round, (counts.get(round) ?? 0) + 1)
  check(round, m.from)
})
mesh.messages$('ping').subscribe((m) => void mesh.send(m.from, 'pong', m.payload))

const raw = await rawNode()
await raw.handle('/bench/sink/1', byteSink)
// Message sink: varint length-prefixed messages, each handed to a callback, as
// the least any application on bare streams must do to receive messages.
await raw.handle('/bench/lp-sink/1', (stream) => {
  let target = -1
  let received = 0
  let need = -1 // bytes of the current message still to read, -1: reading its length
  let length = 0
  let shift = 0
  let parts: Uint8Array[] = []
  const onMessage = (_m: Uint8Array): void => {
    if (++received === target) stream.send(new Uint8Array([1]))
  }
  stream.addEventListener('message', (e) => {
    for (const chunk of e.data instanceof Uint8Array ? [e.data] : e.data) {
      let i = 0
      if (target < 0) {
        target = Number(new DataView(chunk.buffer, chunk.byteOffset, 8).getBigUint64(0))
        i = 8
      }
      while (i < chunk.length) {
        if (need < 0) {
          const b = chunk[i++]!
          length |= (b & 0x7f) << shift
          shift += 7
          if ((b & 0x80) === 0) {
            need = length
            length = 0
            shift = 0
          }
          continue
        }
        const take = Math.min(need, chunk.length - i)
        if (take === need && parts.length === 0) onMessage(chunk.subarray(i, i + take))
        else {
          parts.push(chunk.subarray(i, i + take))
          if (take === need) {
            onMessage(Buffer.concat(parts))
            parts = []
          }
        }
        need -= take
        i += take
        if (need === 0) need = -1
      }
    }
  })
})
await raw.handle('/bench/echo/1', echo)

out('ready', { id: mesh.id, address: mesh.addresses[0], raw: raw.getMultiaddrs().map(String) })
createInterface({ input: process.stdin }).on('line', () => {
  void Promise.all([mesh.stop(), raw.stop()]).then(() => process.exit(0))
})
