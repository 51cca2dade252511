/**
 * The board's logic, free of I/O: what an item and a change (op) are, how the
 * leader applies a change (one version per applied change), and how a replica
 * follows the leader's broadcasts (current term only, versions in order,
 * snapshots for gaps and new leaders). main.ts and node.ts do the networking.
 */

export interface Item {
  id: string
  text: string
}

/** A board as one device holds it. */
export interface Board {
  /**
   * The leader term this state was last ordered in (0: never touched by a
   * leader). With `version` it orders states: (term, version), term first.
   */
  term: number
  /** Changes applied in order; bumped by one per applied change. */
  version: number
  items: Item[]
}

export type Op =
  | { type: 'add'; id: string; text: string; index?: number }
  | { type: 'edit'; id: string; text: string }
  | { type: 'move'; id: string; index: number }
  | { type: 'delete'; id: string }

export const MAX_TEXT = 500
export const MAX_ITEMS = 500
const ID = /^[A-Za-z0-9_-]{1,64}$/

export const emptyBoard = (): Board => ({ term: 0, version: 0, items: [] })

/** Checks a change that came from outside (a page, a peer): the op, or why it is not one. */
export function parseOp(value: unknown): Op | string {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'a change is a JSON object with a "type"'
  const v = value as Record<string, unknown>
  const id = v.id
  if (typeof id !== 'string' || !ID.test(id)) return 'id must be 1-64 letters, digits, "-" or "_"'
  const text = (): string | undefined => {
    if (typeof v.text !== 'string') return undefined
    const t = v.text.trim()
    return t.length > 0 && t.length <= MAX_TEXT ? t : undefined
  }
  const index = (): number | undefined => (typeof v.index === 'number' && Number.isSafeInteger(v.index) && v.index >= 0 ? v.index : undefined)
  switch (v.type) {
    case 'add': {
      const t = text()
      if (t === undefined) return `text must be 1-${MAX_TEXT} characters`
      if (v.index !== undefined && index() === undefined) return 'index must be a whole number >= 0'
      const i = index()
      return { type: 'add', id, text: t, ...(i !== undefined ? { index: i } : {}) }
    }
    case 'edit': {
      const t = text()
      if (t === undefined) return `text must be 1-${MAX_TEXT} characters`
      return { type: 'edit', id, text: t }
    }
    case 'move': {
      const i = index()
      if (i === undefined) return 'index must be a whole number >= 0'
      return { type: 'move', id, index: i }
    }
    case 'delete':
      return { type: 'delete', id }
    default:
      return 'type must be add, edit, move or delete'
  }
}

export type ApplyResult = { ok: true; board: Board; changed: boolean } | { ok: false; error: string }

/**
 * The leader applies a change: a new board with the version bumped, or the
 * same board when the change changes nothing (retries are idempotent: adding
 * an id that exists, deleting one that does not), or an error. Pure.
 */
export function applyOp(board: Board, op: Op): ApplyResult {
  const at = board.items.findIndex((item) => item.id === op.id)
  const items = board.items.slice()
  switch (op.type) {
    case 'add': {
      if (at >= 0) return { ok: true, board, changed: false }
      if (items.length >= MAX_ITEMS) return { ok: false, error: `the board is full (${MAX_ITEMS} items)` }
      items.splice(Math.min(op.index ?? items.length, items.length), 0, { id: op.id, text: op.text })
      break
    }
    case 'edit': {
      const item = items[at]
      if (item === undefined) return { ok: false, error: `no item ${op.id} (deleted meanwhile?)` }
      if (item.text === op.text) return { ok: true, board, changed: false }
      items[at] = { id: op.id, text: op.text }
      break
    }
    case 'move': {
      const item = items[at]
      if (item === undefined) return { ok: false, error: `no item ${op.id} (deleted meanwhile?)` }
      const to = Math.min(op.index, items.length - 1)
      if (to === at) return { ok: true, board, changed: false }
      items.splice(at, 1)
      items.splice(to, 0, item)
      break
    }
    case 'delete': {
      if (at < 0) return { ok: true, board, changed: false }
      items.splice(at, 1)
      break
    }
  }
  return { ok: true, board: { term: board.term, version: board.version + 1, items }, changed: true }
}

/** What the leader broadcasts (stamped with its term by the mesh). */
export type BoardMessage = { kind: 'op'; version: number; op: Op } | { kind: 'snapshot'; version: number; items: Item[] }

/** Whether state `a` is newer than `b`: later term first, then more changes. */
export const newer = (a: Pick<Board, 'term' | 'version'>, b: Pick<Board, 'term' | 'version'>): boolean => a.term > b.term || (a.term === b.term && a.version > b.version)

/** Of several boards (the new leader's first, then its peers'), the most recent; the first among equals. */
export function latest(boards: Board[]): Board {
  let best = boards[0] ?? emptyBoard()
  for (const b of boards) if (newer(b, best)) best = b
  return best
}

/** A new leader of `term` takes over `base` (its own or a peer's, whichever is latest). */
export const takeOver = (base: Board, term: number): Board => ({ term, version: base.version, items: base.items })

export type ReceiveResult =
  /** Applied: the new board. */
  | { action: 'apply'; board: Board }
  /** Dropped: a stale term, another leader of this term, or an old version. */
  | { action: 'ignore'; reason: string }
  /** A version is missing (or the term is new without a snapshot yet): ask the leader for its state. */
  | { action: 'resync'; reason: string }

/**
 * A follower receives a leader message stamped `term` by `from`. `accepts`
 * is the mesh's fencing check (`mesh.acceptsTerm`). Pure.
 */
export function receive(board: Board, message: BoardMessage, term: number | undefined, from: string, accepts: (term: number, from: string) => boolean): ReceiveResult {
  if (term === undefined) return { action: 'ignore', reason: 'not stamped by a leader' }
  if (!accepts(term, from)) return { action: 'ignore', reason: `term ${term} of ${from} is not current` }
  if (term < board.term) return { action: 'ignore', reason: `term ${term} is older than the board's ${board.term}` }
  if (message.kind === 'snapshot') {
    if (term === board.term && message.version < board.version) return { action: 'ignore', reason: `snapshot v${message.version} is older than v${board.version}` }
    return { action: 'apply', board: { term, version: message.version, items: message.items } }
  }
  if (term > board.term) return { action: 'resync', reason: `op of a new term ${term} before its snapshot` }
  if (message.version <= board.version) return { action: 'ignore', reason: `v${message.version} already applied` }
  if (message.version > board.version + 1) return { action: 'resync', reason: `missing v${board.version + 1}..v${message.version - 1}` }
  const r = applyOp(board, message.op)
  if (!r.ok || !r.changed) return { action: 'resync', reason: `op v${message.version} does not apply here${r.ok ? '' : `: ${r.error}`}` }
  return { action: 'apply', board: { ...r.board, version: message.version } }
}

/** A board answered by a peer or leader (`board:state`): checked before it is trusted. */
export function parseBoard(value: unknown): Board | undefined {
  if (value === null || typeof value !== 'object') return undefined
  const v = value as Record<string, unknown>
  if (!Number.isSafeInteger(v.term) || !Number.isSafeInteger(v.version) || !Array.isArray(v.items)) return undefined
  const items: Item[] = []
  for (const i of v.items as unknown[]) {
    if (i === null || typeof i !== 'object') return undefined
    const { id, text } = i as Record<string, unknown>
    if (typeof id !== 'string' || typeof text !== 'string') return undefined
    items.push({ id, text })
  }
  return { term: v.term as number, version: v.version as number, items }
}
