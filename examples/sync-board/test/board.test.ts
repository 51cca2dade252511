import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { applyOp, emptyBoard, latest, MAX_TEXT, parseBoard, parseOp, receive, takeOver, type Board, type BoardMessage, type Op } from '../src/board.js'

const always = (): boolean => true

/** An op drawn against whatever the board holds when it is applied (indices into the items, or unknown ids). */
const intent = fc.oneof(
  fc.record({ type: fc.constant('add' as const), n: fc.nat(40), text: fc.string({ minLength: 1, maxLength: 8 }), index: fc.option(fc.nat(12), { nil: undefined }) }),
  fc.record({ type: fc.constant('edit' as const), n: fc.nat(40), text: fc.string({ minLength: 1, maxLength: 8 }) }),
  fc.record({ type: fc.constant('move' as const), n: fc.nat(40), index: fc.nat(12) }),
  fc.record({ type: fc.constant('delete' as const), n: fc.nat(40) }),
)
type Intent = typeof intent extends fc.Arbitrary<infer T> ? T : never

function toOp(board: Board, i: Intent): Op {
  // mostly existing items; now and then an id nobody has
  const existing = board.items[i.n % Math.max(1, board.items.length)]
  const id = i.type === 'add' ? `i${i.n}` : i.n % 7 === 6 || existing === undefined ? `missing${i.n}` : existing.id
  const text = 'text' in i ? i.text.trim() || 'x' : ''
  switch (i.type) {
    case 'add':
      return { type: 'add', id, text, ...(i.index !== undefined ? { index: i.index } : {}) }
    case 'edit':
      return { type: 'edit', id, text }
    case 'move':
      return { type: 'move', id, index: i.index }
    case 'delete':
      return { type: 'delete', id }
  }
}

/** The leader applies intents in order: its history (board per version) and the broadcasts it sent. */
function lead(intents: Intent[], term = 1, start: Board = { ...emptyBoard(), term }): { history: Board[]; sent: BoardMessage[] } {
  let board = start
  const history = [board]
  const sent: BoardMessage[] = []
  for (const i of intents) {
    const op = toOp(board, i)
    const r = applyOp(board, op)
    if (!r.ok || !r.changed) continue
    board = r.board
    history.push(board)
    sent.push({ kind: 'op', version: board.version, op })
  }
  return { history, sent }
}

describe('applyOp', () => {
  it('adds, edits, moves and deletes, one version per change', () => {
    let b = emptyBoard()
    const step = (op: Op): Board => {
      const r = applyOp(b, op)
      if (!r.ok) throw new Error(r.error)
      b = r.board
      return b
    }
    step({ type: 'add', id: 'a', text: 'one' })
    step({ type: 'add', id: 'b', text: 'two' })
    step({ type: 'add', id: 'c', text: 'zero', index: 0 })
    expect(b.items.map((i) => i.id)).toEqual(['c', 'a', 'b'])
    step({ type: 'move', id: 'c', index: 2 })
    expect(b.items.map((i) => i.id)).toEqual(['a', 'b', 'c'])
    step({ type: 'edit', id: 'b', text: 'TWO' })
    step({ type: 'delete', id: 'a' })
    expect(b).toEqual({ term: 0, version: 6, items: [{ id: 'b', text: 'TWO' }, { id: 'c', text: 'zero' }] })
  })

  it('is idempotent for retries: an add of an existing id and a delete of a missing one change nothing', () => {
    const b = { term: 1, version: 3, items: [{ id: 'a', text: 'x' }] }
    expect(applyOp(b, { type: 'add', id: 'a', text: 'x' })).toEqual({ ok: true, board: b, changed: false })
    expect(applyOp(b, { type: 'delete', id: 'zz' })).toEqual({ ok: true, board: b, changed: false })
    expect(applyOp(b, { type: 'edit', id: 'a', text: 'x' })).toEqual({ ok: true, board: b, changed: false })
    expect(applyOp(b, { type: 'move', id: 'a', index: 9 })).toEqual({ ok: true, board: b, changed: false })
  })

  it('rejects edits and moves of items that are gone', () => {
    expect(applyOp(emptyBoard(), { type: 'edit', id: 'a', text: 'x' })).toMatchObject({ ok: false, error: expect.stringContaining('no item a') })
    expect(applyOp(emptyBoard(), { type: 'move', id: 'a', index: 0 })).toMatchObject({ ok: false })
  })

  it('never mutates its input', () => {
    fc.assert(
      fc.property(fc.array(intent, { maxLength: 30 }), (intents) => {
        const { history } = lead(intents)
        const frozen = JSON.stringify(history)
        lead(intents, 1, history.at(-1))
        expect(JSON.stringify(history)).toBe(frozen)
      }),
    )
  })
})

describe('parseOp', () => {
  it('accepts well-formed changes and trims text', () => {
    expect(parseOp({ type: 'add', id: 'a-1', text: '  hi ' })).toEqual({ type: 'add', id: 'a-1', text: 'hi' })
    expect(parseOp({ type: 'move', id: 'a', index: 2, extra: true })).toEqual({ type: 'move', id: 'a', index: 2 })
    expect(parseOp({ type: 'delete', id: 'a' })).toEqual({ type: 'delete', id: 'a' })
  })

  it.each([
    [null, 'JSON object'],
    [[], 'JSON object'],
    [{ type: 'add', text: 'x' }, 'id must be'],
    [{ type: 'add', id: 'a b', text: 'x' }, 'id must be'],
    [{ type: 'add', id: 'a', text: '   ' }, 'text must be'],
    [{ type: 'add', id: 'a', text: 'x'.repeat(MAX_TEXT + 1) }, 'text must be'],
    [{ type: 'add', id: 'a', text: 'x', index: -1 }, 'index'],
    [{ type: 'move', id: 'a', index: 1.5 }, 'index'],
    [{ type: 'rename', id: 'a' }, 'type must be'],
  ])('rejects %j', (value, why) => {
    expect(parseOp(value)).toContain(why)
  })
})

describe('following the leader', () => {
  it('any sequence applied by the leader, replayed from its broadcasts, gives identical boards', () => {
    fc.assert(
      fc.property(fc.array(intent, { maxLength: 60 }), (intents) => {
        const { history, sent } = lead(intents)
        let follower: Board = { term: 1, version: 0, items: [] }
        for (const m of sent) {
          const r = receive(follower, m, 1, 'L', always)
          expect(r.action).toBe('apply')
          if (r.action === 'apply') follower = r.board
        }
        expect(follower).toEqual(history.at(-1))
      }),
    )
  })

  it('with broadcasts lost, duplicated and reordered, a follower only ever holds a state the leader had, and a snapshot makes it identical', () => {
    fc.assert(
      fc.property(fc.array(intent, { maxLength: 40 }), fc.array(fc.nat(1000), { maxLength: 80 }), (intents, picks) => {
        const { history, sent } = lead(intents)
        let follower: Board = { term: 1, version: 0, items: [] }
        for (const p of picks) {
          const m = sent[p % Math.max(1, sent.length)]
          if (m === undefined) break
          const r = receive(follower, m, 1, 'L', always)
          if (r.action === 'apply') follower = r.board
          expect(follower).toEqual(history[follower.version])
        }
        const last = history.at(-1) as Board
        const r = receive(follower, { kind: 'snapshot', version: last.version, items: last.items }, 1, 'L', always)
        if (r.action === 'apply') follower = r.board
        expect(follower).toEqual(last)
      }),
    )
  })

  it('asks for the state when a version is missing', () => {
    const { sent } = lead([
      { type: 'add', n: 1, text: 'a', index: undefined },
      { type: 'add', n: 2, text: 'b', index: undefined },
    ])
    expect(receive({ term: 1, version: 0, items: [] }, sent[1] as BoardMessage, 1, 'L', always)).toMatchObject({ action: 'resync' })
  })

  it('drops messages whose term the mesh does not accept, and anything older than the board', () => {
    const b: Board = { term: 3, version: 5, items: [] }
    const op: BoardMessage = { kind: 'op', version: 6, op: { type: 'add', id: 'x', text: 'x' } }
    expect(receive(b, op, 3, 'old-leader', () => false)).toMatchObject({ action: 'ignore' })
    expect(receive(b, op, undefined, 'L', always)).toMatchObject({ action: 'ignore' })
    expect(receive(b, op, 2, 'L', always)).toMatchObject({ action: 'ignore' })
    expect(receive(b, { kind: 'snapshot', version: 9, items: [] }, 2, 'L', always)).toMatchObject({ action: 'ignore' })
    expect(receive(b, { kind: 'snapshot', version: 4, items: [] }, 3, 'L', always)).toMatchObject({ action: 'ignore' })
  })

  it("a new term's snapshot replaces the board even with a lower version; its ops before the snapshot ask for the state", () => {
    const b: Board = { term: 3, version: 7, items: [{ id: 'lost', text: 'never reached the new leader' }] }
    expect(receive(b, { kind: 'op', version: 6, op: { type: 'delete', id: 'lost' } }, 4, 'N', always)).toMatchObject({ action: 'resync' })
    expect(receive(b, { kind: 'snapshot', version: 6, items: [] }, 4, 'N', always)).toEqual({ action: 'apply', board: { term: 4, version: 6, items: [] } })
  })

  it('failover: the new leader continues from the latest board it can see, and every survivor ends identical', () => {
    fc.assert(
      fc.property(fc.array(intent, { minLength: 1, maxLength: 40 }), fc.nat(), fc.nat(), (intents, x, y) => {
        const { history, sent } = lead(intents, 1)
        // two followers got different prefixes of the old leader's broadcasts before it crashed
        const replay = (n: number): Board => {
          let f: Board = { term: 1, version: 0, items: [] }
          for (const m of sent.slice(0, n)) {
            const r = receive(f, m, 1, 'A', always)
            if (r.action === 'apply') f = r.board
          }
          return f
        }
        const b = replay(x % (sent.length + 1))
        const c = replay(y % (sent.length + 1))
        const base = latest([b, c])
        expect(base.version).toBe(Math.max(b.version, c.version))
        expect(base).toEqual({ ...(history[base.version] as Board), term: 1 })
        const leader = takeOver(base, 2)
        const snapshot: BoardMessage = { kind: 'snapshot', version: leader.version, items: leader.items }
        for (const f of [b, c]) {
          const r = receive(f, snapshot, 2, 'B', always)
          expect(r).toEqual({ action: 'apply', board: leader })
        }
        // and the new leader goes on ordering changes from there
        const more = lead(intents.slice(0, 5), 2, leader)
        let follower = leader
        for (const m of more.sent) {
          const r = receive(follower, m, 2, 'B', always)
          if (r.action === 'apply') follower = r.board
        }
        expect(follower).toEqual(more.history.at(-1))
      }),
    )
  })
})

describe('parseBoard', () => {
  it('accepts a board and refuses anything else', () => {
    expect(parseBoard({ term: 1, version: 2, items: [{ id: 'a', text: 'b' }] })).toEqual({ term: 1, version: 2, items: [{ id: 'a', text: 'b' }] })
    expect(parseBoard({ term: 1, version: 2, items: [{ id: 1 }] })).toBeUndefined()
    expect(parseBoard({ term: '1', version: 2, items: [] })).toBeUndefined()
    expect(parseBoard(null)).toBeUndefined()
  })
})
