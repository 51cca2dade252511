import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { decodeVarintPayload, encodeVarintPayload, maxBodyFor } from '../src/codec.js'
import { encodeFrame, FrameDecoder, FrameTooLargeError, FrameType, frameSize, MalformedFrameError, ProtocolError, UnknownFrameTypeError } from '../src/index.js'

const types = Object.values(FrameType)
const frameArb = fc.record({
  type: fc.constantFrom(...types),
  id: fc.oneof(fc.nat(300), fc.maxSafeNat()),
  payload: fc.uint8Array({ maxLength: 2000 }),
})

/** Splits bytes into chunks at random cut points. */
const chunked = (bytes: Uint8Array, cuts: number[]): Uint8Array[] => {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b)
  const out: Uint8Array[] = []
  let last = 0
  for (const p of points) {
    out.push(bytes.subarray(last, p))
    last = p
  }
  out.push(bytes.subarray(last))
  return out
}

describe('frame codec', () => {
  test('any sequence of frames survives any chunking of the byte stream', () => {
    fc.assert(
      fc.property(fc.array(frameArb, { maxLength: 20 }), fc.array(fc.nat(), { maxLength: 30 }), (frames, cuts) => {
        const wire = new Uint8Array(Buffer.concat(frames.map((f) => encodeFrame(f.type, f.id, f.payload))))
        const decoder = new FrameDecoder(maxBodyFor(2000))
        const out = chunked(wire, cuts).flatMap((chunk) => decoder.push(chunk))
        expect(out.map((f) => ({ type: f.type, id: f.id, payload: f.payload }))).toEqual(frames)
        expect(out.map((f) => f.wireBytes)).toEqual(frames.map((f) => frameSize(f.id, f.payload.length)))
        expect(decoder.bufferedBytes).toBe(0)
      }),
    )
  })

  test('a truncated frame waits for the rest instead of failing', () => {
    const frame = encodeFrame(FrameType.Data, 7, new Uint8Array(100).fill(1))
    const decoder = new FrameDecoder(1000)
    expect(decoder.push(frame.subarray(0, 50))).toEqual([])
    expect(decoder.bufferedBytes).toBe(50)
    expect(decoder.push(frame.subarray(50))).toHaveLength(1)
  })

  test('a length prefix beyond the maximum fails before the body is buffered', () => {
    const decoder = new FrameDecoder(1024)
    const prefix = encodeFrame(FrameType.Data, 0, new Uint8Array(5000)).subarray(0, 3)
    expect(() => decoder.push(prefix)).toThrow(FrameTooLargeError)
    expect(decoder.bufferedBytes).toBe(0)
    // and the stream stays failed
    expect(() => decoder.push(new Uint8Array([1]))).toThrow(FrameTooLargeError)
  })

  test('unknown types, types not allowed on the stream, bad varints and empty bodies are typed errors', () => {
    expect(() => new FrameDecoder(100).push(new Uint8Array([2, 0x7f, 0]))).toThrow(UnknownFrameTypeError)
    expect(() => new FrameDecoder(100, new Set([FrameType.Data])).push(encodeFrame(FrameType.Hello, 0))).toThrow(UnknownFrameTypeError)
    expect(() => new FrameDecoder(100).push(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0x01]))).toThrow(MalformedFrameError)
    expect(() => new FrameDecoder(100).push(new Uint8Array([1, FrameType.Data]))).toThrow(MalformedFrameError)
    expect(() => new FrameDecoder(100).push(new Uint8Array([0]))).toThrow(MalformedFrameError)
    // an id varint that runs past the end of its frame
    expect(() => new FrameDecoder(100).push(new Uint8Array([2, FrameType.Data, 0x80]))).toThrow(MalformedFrameError)
  })

  test('garbage never produces anything but frames or ProtocolErrors', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 10 }), (chunks) => {
        const decoder = new FrameDecoder(256)
        try {
          for (const c of chunks) decoder.push(c)
        } catch (err) {
          expect(err).toBeInstanceOf(ProtocolError)
        }
      }),
      { numRuns: 2000 },
    )
  })

  test('credit payloads are single varints', () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), (n) => {
        expect(decodeVarintPayload(encodeVarintPayload(n))).toBe(n)
      }),
    )
    expect(() => decodeVarintPayload(new Uint8Array([1, 2]))).toThrow(MalformedFrameError)
    expect(() => decodeVarintPayload(new Uint8Array([0x80]))).toThrow(MalformedFrameError)
    expect(() => encodeFrame(FrameType.Data, -1)).toThrow(RangeError)
  })
})
