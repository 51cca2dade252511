/** Why a hello was refused. Sent to the peer in a REJECT frame and reported locally. */
export type RejectReason =
  | 'wrong-group'
  | 'bad-credential'
  | 'impostor'
  | 'unexpected-peer'
  | 'version-unsupported'
  | 'self'
  | 'malformed-hello'
  | 'hello-timeout'
  | 'overload'

/** Why a connection closed. */
export type CloseReason =
  | RejectReason
  | 'duplicate'
  | 'restart'
  | 'shutdown'
  | 'peer-shutdown'
  | 'heartbeat-timeout'
  | 'transport-closed'
  | 'protocol-error'
  | 'frame-too-large'
  | 'malformed-frame'
  | 'unknown-frame'
  | 'flow-control'
  | 'rejected-by-peer'
  | 'unwanted'

export const REJECT_REASONS: readonly RejectReason[] = [
  'wrong-group',
  'bad-credential',
  'impostor',
  'unexpected-peer',
  'version-unsupported',
  'self',
  'malformed-hello',
  'hello-timeout',
  'overload',
]

const CLOSE_REASONS: ReadonlySet<string> = new Set<CloseReason>([
  ...REJECT_REASONS,
  'duplicate',
  'restart',
  'shutdown',
  'peer-shutdown',
  'heartbeat-timeout',
  'transport-closed',
  'protocol-error',
  'frame-too-large',
  'malformed-frame',
  'unknown-frame',
  'flow-control',
  'rejected-by-peer',
  'unwanted',
])

export function isCloseReason(value: unknown): value is CloseReason {
  return typeof value === 'string' && CLOSE_REASONS.has(value)
}

export function isRejectReason(value: unknown): value is RejectReason {
  return typeof value === 'string' && (REJECT_REASONS as readonly string[]).includes(value)
}
