/**
 * A receiver of the broadcast benchmark, in its own process: a mesh (static
 * peers, loopback) and a bare libp2p QUIC node, each with a counting sink and
 * an echo.
 */
import '@meshkit/connection/polyfill'
import { quic } from '@chainsafe/libp2p-quic'
import { privateKeyFromRaw } from '@libp2p/crypto/keys'
import { ephemeralIdentity } from '@meshkit/identity'
import { silentLogger } from '@meshkit/log'
import { createMesh } from '@meshkit/mesh'
import { createLibp2p } from 'libp2p'
import { createInterface } from 'node:readline'

const secret = process.argv[2]!
const out = (ev: string, data: Record<string, unknown> = {}): void => void process.stdout.write(`${JSON.stringify({ ev, ...data })}\n`)

const mesh = await createMesh({ group: { secret }, storage: 'memory', discovery: 'none', loopbackOnly: true, election: { manualOnly: true }, logger: silentLogger() })
let expect = Infinity
let count = 0
mesh.messages$('ctl').subscribe((m) => {
  expect = m.payload as number
  count = 0
})
mesh.messages$('bench').subscribe((m) => {
  if (++count === expect) void mesh.send(m.from, 'done', 1)
})
mesh.messages$('ping').subscribe((m) => void mesh.send(m.from, 'pong', m.payload))

const raw = await createLibp2p({
  privateKey: privateKeyFromRaw(ephemeralIdentity().secretKey),
  addresses: { listen: ['/ip4/127.0.0.1/udp/0/quic-v1'] },
  transports: [quic()],
  connectionMonitor: { enabled: false },
  connectionManager: { inboundConnectionThreshold: 10_000 },
})
await raw.handle('/bench/sink/1', (stream) => {
  let target = -1
  let seen = 0
  stream.addEventListener('message', (e) => {
    let data = e.data.subarray()
    if (target < 0) {
      target = Number(new DataView(data.buffer, data.byteOffset, 8).getBigUint64(0))
      data = data.subarray(8)
    }
    seen += data.length
    if (seen >= target) stream.send(new Uint8Array([1]))
  })
})
await raw.handle('/bench/echo/1', (stream) => {
  stream.addEventListener('message', (e) => void stream.send(e.data))
})

out('ready', { id: mesh.id, address: mesh.addresses[0], raw: raw.getMultiaddrs().map(String) })
createInterface({ input: process.stdin }).on('line', () => {
  void Promise.all([mesh.stop(), raw.stop()]).then(() => process.exit(0))
})
