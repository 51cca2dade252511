/** The bare-libp2p baseline of the benchmark peers: its node and its handlers. */
import '@meshkit/connection/polyfill'
import { quic } from '@chainsafe/libp2p-quic'
import { privateKeyFromRaw } from '@libp2p/crypto/keys'
import type { Libp2p, Stream } from '@libp2p/interface'
import { ephemeralIdentity } from '@meshkit/identity'
import { createLibp2p } from 'libp2p'

/** A libp2p node with only the (same, patched) QUIC transport, listening on loopback, no connection limits. */
export function rawNode(): Promise<Libp2p> {
  return createLibp2p({
    privateKey: privateKeyFromRaw(ephemeralIdentity().secretKey),
    addresses: { listen: ['/ip4/127.0.0.1/udp/0/quic-v1'] },
    transports: [quic()],
    connectionMonitor: { enabled: false },
    connectionManager: { inboundConnectionThreshold: 10_000 },
  })
}

/**
 * Byte sink: the first 8 bytes say how many follow; counts them (no notion of
 * messages: the floor of any framing) and answers one byte when all arrived.
 */
export function byteSink(stream: Stream): void {
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
}

/** Echo: sends back whatever arrives. */
export function echo(stream: Stream): void {
  stream.addEventListener('message', (e) => void stream.send(e.data))
}
