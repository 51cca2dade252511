/**
 * The far end of the connection benchmark, in its own process: a meshkit
 * layer, a bare libp2p QUIC node and a TCP server, each offering an echo and a
 * sink. JSON lines on stdout; commands on stdin.
 */
import '@meshkit/connection/polyfill'
import { createConnectionLayer } from '@meshkit/connection'
import { deriveGroupKey, encodeCredential, ephemeralIdentity, issueCredential } from '@meshkit/identity'
import { createServer } from 'node:net'
import { createInterface } from 'node:readline'
import { byteSink, echo, rawNode } from './_raw-handlers.js'

const secret = process.argv[2] ?? 'meshkit-bench-secret-000000'
const out = (ev: string, data: Record<string, unknown> = {}): void => void process.stdout.write(`${JSON.stringify({ ev, ...data })}\n`)
const group = deriveGroupKey(secret)
const identity = ephemeralIdentity()
const layer = createConnectionLayer({
  identity,
  group,
  credential: encodeCredential(issueCredential(group, identity.id, identity.publicKey)),
  listen: ['127.0.0.1:0'],
})
await layer.start()

// meshkit: echo, and a sink that reports when it has seen `expect` bytes
layer.handle('echo', async ({ peerId, payload }) => layer.send(peerId, 'echo', payload))
let sinkBytes = 0
let sinkExpect = Infinity
let sinkFrom = ''
layer.handle('ctl', ({ peerId, payload }) => {
  sinkBytes = 0
  sinkExpect = Number(new TextDecoder().decode(payload))
  sinkFrom = peerId
})
layer.handle('sink', ({ payload }) => {
  sinkBytes += payload.length
  if (sinkBytes >= sinkExpect) {
    sinkExpect = Infinity
    void layer.send(sinkFrom, 'done', new Uint8Array([1]))
  }
})

// bare libp2p over the same QUIC transport
const raw = await rawNode()
await raw.handle('/bench/echo/1', echo)
await raw.handle('/bench/sink/1', byteSink)

// TCP: echo and sink (8-byte length header)
const tcpEcho = createServer((s) => {
  s.setNoDelay(true)
  s.pipe(s)
})
const tcpSink = createServer((s) => {
  let expect = -1
  let seen = 0
  s.on('data', (d: Buffer) => {
    let data = d
    if (expect < 0) {
      expect = Number(d.readBigUInt64BE(0))
      data = d.subarray(8)
    }
    seen += data.length
    if (seen >= expect) s.write(Buffer.from([1]))
  })
})
await new Promise<void>((r) => tcpEcho.listen(0, '127.0.0.1', r))
await new Promise<void>((r) => tcpSink.listen(0, '127.0.0.1', r))

out('ready', {
  id: identity.id,
  publicKey: Buffer.from(identity.publicKey).toString('base64'),
  addresses: layer.addresses,
  raw: raw.getMultiaddrs().map(String),
  tcpEcho: (tcpEcho.address() as { port: number }).port,
  tcpSink: (tcpSink.address() as { port: number }).port,
})

createInterface({ input: process.stdin }).on('line', (line) => {
  const cmd = JSON.parse(line) as { cmd: string }
  if (cmd.cmd === 'rss') {
    globalThis.gc?.()
    out('rss', { rss: process.memoryUsage().rss, peers: layer.connectedPeers().length })
  }
  if (cmd.cmd === 'exit') process.exit(0)
})
