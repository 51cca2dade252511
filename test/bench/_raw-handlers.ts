/** Handlers of the bare-libp2p baselines, shared by the benchmark peers. */
import type { Stream } from '@libp2p/interface'

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
