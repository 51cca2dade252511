/**
 * The election's narrow transport, carried by the connection layer: messages
 * on the `$election` channel, the election's hello extension in every hello
 * (`x.election`), peer up/down from connection events.
 */
import type { ConnectionLayer } from '@meshkit/connection'
import type { ElectionTransport, ElectionTransportListener } from '@meshkit/election'
import { ELECTION_CHANNEL } from './constants.js'

export interface ElectionLink extends ElectionTransport {
  /** For the connection layer's `helloExtensions`. */
  helloExtension: () => Record<string, unknown>
  /** Device ids connected now, and the public keys their connections proved. */
  publicKeyOf: (id: string) => Uint8Array | undefined
}

export function electionLink(layer: ConnectionLayer): ElectionLink {
  let provider: (() => Uint8Array) | undefined
  const hellos = new Map<string, Uint8Array | undefined>()
  const keys = new Map<string, Uint8Array>()
  let listener: ElectionTransportListener | undefined

  const helloOf = (ext: Record<string, unknown>): Uint8Array | undefined => (ext.election instanceof Uint8Array ? ext.election : undefined)

  layer.on('peer:connected', (e) => {
    const hello = helloOf(e.ext)
    hellos.set(e.peerId, hello)
    keys.set(e.peerId, e.publicKey)
    listener?.peerUp(e.peerId, hello)
  })
  layer.on('peer:disconnected', (e) => {
    hellos.delete(e.peerId)
    listener?.peerDown(e.peerId)
  })
  layer.handle(ELECTION_CHANNEL, ({ peerId, payload }) => {
    listener?.message(peerId, payload)
  })

  return {
    localId: layer.id,
    peers: () => layer.connectedPeers().map((id) => ({ id, ...(hellos.get(id) !== undefined ? { hello: hellos.get(id) } : {}) })),
    send: (peerId, message) => {
      layer.send(peerId, ELECTION_CHANNEL, message).catch(() => {
        // best effort: a peer that is not connected drops it (the election's contract)
      })
    },
    subscribe: (l) => {
      listener = l
      return () => {
        if (listener === l) listener = undefined
      }
    },
    setHelloProvider: (p) => {
      provider = p
    },
    helloExtension: () => (provider !== undefined ? { election: provider() } : {}),
    publicKeyOf: (id) => keys.get(id),
  }
}
