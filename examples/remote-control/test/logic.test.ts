import { describe, expect, it } from 'vitest'
import { parseRemoteArgs, UsageError } from '../src/args.js'
import { decodeCommand, formatCommand, parseLine, type Command } from '../src/commands.js'
import { render } from '../src/events.js'
import { applyCommand, diffReady, formatState, judge } from '../src/state.js'

describe('parseRemoteArgs', () => {
  it('reads secret, priority and flags; loopback by default', () => {
    expect(parseRemoteArgs(['--secret', 's'])).toEqual({ secret: 's', lan: false, json: false, help: false })
    expect(parseRemoteArgs(['--priority', '5', '--lan', '--json', '--mdns-port', '20001'], { MESHKIT_SECRET: 'env' })).toEqual({ priority: 5, secret: 'env', lan: true, json: true, mdnsPort: 20001, help: false })
    expect(parseRemoteArgs(['--priority=-1.5', '--secret', 's']).priority).toBe(-1.5)
    expect(() => parseRemoteArgs(['--priority', '-1', '--secret', 's'])).toThrow(/use '--priority=-XYZ'/)
  })

  it.each([
    [[], /no group secret/],
    [['--secret', 's', '--priority', 'high'], /--priority must be a number, got "high"/],
    [['--secret', 's', '--priority', ''], /--priority must be a number/],
    [['--secret', 's', '--name', 'x'], /Unknown option '--name'/],
    [['--secret', 's', 'go'], /Unexpected argument 'go'/],
    [['--secret', 's', '--mdns-port', '0'], /--mdns-port/],
  ])('%j is a usage error', (argv, message) => {
    expect(() => parseRemoteArgs(argv)).toThrow(UsageError)
    expect(() => parseRemoteArgs(argv)).toThrow(message)
  })
})

describe('parseLine', () => {
  it('leader commands', () => {
    expect(parseLine('set color red')).toEqual({ kind: 'command', command: { op: 'set', key: 'color', value: 'red' } })
    expect(parseLine('  SET   title   hello   big world ')).toEqual({ kind: 'command', command: { op: 'set', key: 'title', value: 'hello   big world' } })
    expect(parseLine('set a a')).toEqual({ kind: 'command', command: { op: 'set', key: 'a', value: 'a' } })
    expect(parseLine('del color')).toEqual({ kind: 'command', command: { op: 'del', key: 'color' } })
    expect(parseLine('clear')).toEqual({ kind: 'command', command: { op: 'clear' } })
    expect(parseLine('ping', 7)).toEqual({ kind: 'command', command: { op: 'ping', seq: 7 } })
  })

  it('local commands', () => {
    expect(parseLine('/lead')).toEqual({ kind: 'local', command: 'lead' })
    expect(parseLine('/stepdown')).toEqual({ kind: 'local', command: 'stepdown' })
    expect(parseLine('/state')).toEqual({ kind: 'local', command: 'state' })
    expect(parseLine('/PEERS')).toEqual({ kind: 'local', command: 'peers' })
    expect(parseLine('/quit')).toEqual({ kind: 'local', command: 'quit' })
    expect(parseLine('/help')).toEqual({ kind: 'local', command: 'help' })
    expect(parseLine('  ')).toEqual({ kind: 'empty' })
  })

  it.each([
    ['set color', /usage: set KEY VALUE/],
    ['set', /usage: set KEY VALUE/],
    ['del', /usage: del KEY/],
    ['del a b', /usage: del KEY/],
    ['clear all', /usage: clear/],
    ['ping twice', /usage: ping/],
    ['set bad/key 1', /a key is/],
    [`set k ${'v'.repeat(1001)}`, /a value is at most/],
    ['launch', /unknown command "launch"/],
    ['/nope', /unknown command \/nope/],
  ])('%j is refused with a message', (line, message) => {
    const input = parseLine(line)
    expect(input.kind).toBe('invalid')
    expect(input.kind === 'invalid' ? input.message : '').toMatch(message)
  })
})

describe('decodeCommand (what arrives from the network)', () => {
  it('round-trips every command', () => {
    const commands: Command[] = [{ op: 'set', key: 'k', value: 'v' }, { op: 'del', key: 'k' }, { op: 'clear' }, { op: 'ping', seq: 3 }, { op: 'snapshot', state: { a: '1' } }]
    for (const c of commands) expect(decodeCommand(structuredClone(c))).toEqual(c)
  })

  it.each([null, 'set a 1', 42, {}, { op: 'launch' }, { op: 'set', key: 'k' }, { op: 'set', key: 'bad key', value: 'v' }, { op: 'set', key: 'k', value: 1 }, { op: 'snapshot', state: [1] }, { op: 'snapshot', state: { k: 2 } }])(
    '%j is dropped',
    (payload) => {
      expect(decodeCommand(payload)).toBeUndefined()
    },
  )
})

describe('applyCommand', () => {
  it('set, del, clear, ping, snapshot; the input state is never changed', () => {
    const s0 = Object.freeze({})
    const s1 = applyCommand(s0, { op: 'set', key: 'a', value: '1' })
    const s2 = applyCommand(s1, { op: 'set', key: 'b', value: '2' })
    expect(s2).toEqual({ a: '1', b: '2' })
    expect(applyCommand(s2, { op: 'set', key: 'a', value: 'x' })).toEqual({ a: 'x', b: '2' })
    expect(applyCommand(s2, { op: 'del', key: 'a' })).toEqual({ b: '2' })
    expect(applyCommand(s2, { op: 'del', key: 'zzz' })).toBe(s2)
    expect(applyCommand(s2, { op: 'ping', seq: 1 })).toBe(s2)
    expect(applyCommand(s2, { op: 'clear' })).toEqual({})
    expect(applyCommand(s2, { op: 'snapshot', state: { z: '9' } })).toEqual({ z: '9' })
    expect(s1).toEqual({ a: '1' })
    expect(s0).toEqual({})
  })

  it('formats the state sorted, or (empty)', () => {
    expect(formatState({ b: '2', a: 'one' })).toBe('a=one b=2')
    expect(formatState({})).toBe('(empty)')
  })
})

describe('judge (fencing)', () => {
  // the mesh's rule: a term below the current one is stale; at the current term only the voted-for leader counts
  const fencing =
    (current: number, leader: string) =>
    (term: number, from: string): boolean =>
      term > current || (term === current && from === leader)
  const set = { op: 'set', key: 'k', value: 'v' }

  it("applies the current leader's commands", () => {
    expect(judge({ from: 'L', term: 4, payload: set }, fencing(4, 'L'))).toEqual({ action: 'apply', command: set, term: 4 })
  })

  it('applies a newer term (its claim is on its way)', () => {
    expect(judge({ from: 'N', term: 5, payload: set }, fencing(4, 'L')).action).toBe('apply')
  })

  it("ignores a deposed leader's commands: an older term, or the current term from someone else", () => {
    expect(judge({ from: 'OLD', term: 3, payload: set }, fencing(4, 'L'))).toEqual({ action: 'ignore', reason: 'stale', term: 3, command: set })
    expect(judge({ from: 'OTHER', term: 4, payload: set }, fencing(4, 'L'))).toMatchObject({ action: 'ignore', reason: 'stale' })
  })

  it('ignores commands not sent as leader (no term) and malformed ones', () => {
    expect(judge({ from: 'L', payload: set }, fencing(4, 'L'))).toEqual({ action: 'ignore', reason: 'not-from-leader', command: set })
    expect(judge({ from: 'L', term: 4, payload: { op: 'rm -rf' } }, fencing(4, 'L'))).toEqual({ action: 'ignore', reason: 'malformed', term: 4 })
  })

  it('asks the mesh about the sender and term it received', () => {
    const asked: Array<[number, string]> = []
    judge({ from: 'L', term: 9, payload: set }, (term, from) => {
      asked.push([term, from])
      return true
    })
    expect(asked).toEqual([[9, 'L']])
  })
})

describe('diffReady', () => {
  it('reports joins and leaves', () => {
    const a = diffReady(new Set(['x']), [
      { id: 'x', state: 'disconnected' },
      { id: 'y', state: 'ready' },
    ])
    expect(a).toEqual({ joined: ['y'], left: ['x'], ready: new Set(['y']) })
  })
})

describe('render', () => {
  it('what followers and the leader print', () => {
    expect(render({ ev: 'applied', from: 'leader-id', term: 3, command: { op: 'set', key: 'color', value: 'red' }, state: { color: 'red' } })).toBe('< set color red from leader-id (term 3)  state: color=red')
    expect(render({ ev: 'applied', from: 'L', term: 3, command: { op: 'ping', seq: 1 }, state: {} })).toBe('< ping from L (term 3): pong sent')
    expect(render({ ev: 'sent', command: { op: 'del', key: 'a' }, term: 2, delivered: 2, failed: 0, state: {} })).toBe('> del a (term 2, to 2 follower(s))  state: (empty)')
    expect(render({ ev: 'ignored', from: 'OLD', term: 2, currentTerm: 3, reason: 'stale', command: { op: 'clear' } })).toBe(`! ignored "clear" from OLD: term 2 is not the current leader's (term 3)`)
    expect(render({ ev: 'rejected', command: { op: 'clear' }, reason: 'not-leader', leader: 'L' })).toBe('! not sent: you do not lead (L does). /lead takes over')
    expect(render({ ev: 'leader', id: 'L', term: 3, role: 'follower' })).toBe('* L leads (term 3); you follow. /lead takes over')
    expect(render({ ev: 'leader', id: 'me', term: 3, role: 'leader' })).toMatch(/^\* you lead \(term 3\)/)
    expect(render({ ev: 'leader', term: 3, role: 'candidate' })).toBe('* standing for leader (term 3)')
    expect(render({ ev: 'lead', ok: false, error: 'timed out' })).toBe('! could not take over: timed out')
    expect(render({ ev: 'state', state: { a: '1' }, role: 'follower', term: 2 })).toBe('* state: a=1 (you are a follower, term 2)')
  })

  it('formats commands as they are typed', () => {
    expect(formatCommand({ op: 'set', key: 'k', value: 'a b' })).toBe('set k a b')
    expect(formatCommand({ op: 'snapshot', state: { a: '1', b: '2' } })).toBe('snapshot (2 keys)')
  })
})
