/**
 * The narrow contract between the election and whatever carries its messages
 * (the connection layer's `$election` channel in meshkit; an in-memory network
 * in tests). Implementations: `createMemoryElectionNetwork()` here, and the
 * adapter over `@meshkit/connection` (see the README, "Wiring").
 */

/** What the transport reports to the election. */
export interface ElectionTransportListener {
  /**
   * A peer became connected. `hello` is the election extension of its hello
   * (`x.election`, opaque bytes from its `helloState()`), when it sent one.
   * Reported once per peer, not per connection: a duplicate connection or a
   * swap to a new one is not a new peer. A peer that restarted may be
   * reported up again without a down in between.
   */
  peerUp: (peerId: string, hello: Uint8Array | undefined) => void
  /** The last connection to a peer closed (crash noticed, goodbye, partition). */
  peerDown: (peerId: string) => void
  /** A message from a peer, in the order the peer sent it. */
  message: (peerId: string, message: Uint8Array) => void
}

export interface ElectionTransport {
  /** This device's id. */
  readonly localId: string
  /** Peers connected now, with their hello extension, for an election started after the transport. */
  peers: () => Array<{ id: string; hello?: Uint8Array }>
  /**
   * Sends on the control path to one peer: best effort, in order, never
   * throws. A peer that is not connected drops it silently.
   */
  send: (peerId: string, message: Uint8Array) => void
  /** Starts reporting; returns the function that stops it. */
  subscribe: (listener: ElectionTransportListener) => () => void
  /**
   * The transport puts `provider()` into every hello it sends from now on
   * (`undefined`: none). Read once per hello, so it carries the current term.
   */
  setHelloProvider: (provider: (() => Uint8Array) | undefined) => void
}
