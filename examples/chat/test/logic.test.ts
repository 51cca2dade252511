import { describe, expect, it } from 'vitest'
import { parseChatArgs, UsageError } from '../src/args.js'
import { decodeChat, decodeHello, diffReady, parseInput, render, sanitize } from '../src/chat.js'

describe('parseChatArgs', () => {
  it('reads name, secret and flags; loopback by default', () => {
    expect(parseChatArgs(['--name', 'alice', '--secret', 's'])).toEqual({ name: 'alice', secret: 's', lan: false, json: false, help: false })
    expect(parseChatArgs(['--name', 'bob', '--lan', '--json', '--mdns-port', '20001'], { MESHKIT_SECRET: 'env' })).toEqual({ name: 'bob', secret: 'env', lan: true, json: true, mdnsPort: 20001, help: false })
  })

  it('prefers --secret over MESHKIT_SECRET', () => {
    expect(parseChatArgs(['--name', 'a', '--secret', 'flag'], { MESHKIT_SECRET: 'env' }).secret).toBe('flag')
  })

  it('--help needs nothing else', () => {
    expect(parseChatArgs(['--help']).help).toBe(true)
    expect(parseChatArgs(['-h']).help).toBe(true)
  })

  it.each([
    [['--secret', 's'], /--name is required/],
    [['--name', '', '--secret', 's'], /--name is required/],
    [['--name', 'x'.repeat(33), '--secret', 's'], /1-32 printable/],
    [['--name', 'alice'], /no group secret.*MESHKIT_SECRET/],
    [['--name', 'alice', '--secret', ''], /no group secret/],
    [['--name', 'alice', '--secret', 's', '--bogus'], /Unknown option '--bogus'/],
    [['--name', 'alice', '--secret', 's', 'extra'], /Unexpected argument 'extra'/],
    [['--name'], /argument missing/],
    [['--name', 'a', '--secret', 's', '--mdns-port', '70000'], /--mdns-port must be a port number/],
    [['--name', 'a', '--secret', 's', '--lan=yes'], /does not take an argument/],
  ])('%j is a usage error', (argv, message) => {
    expect(() => parseChatArgs(argv)).toThrow(UsageError)
    expect(() => parseChatArgs(argv)).toThrow(message)
  })
})

describe('parseInput', () => {
  it('plain lines are said, trimmed', () => {
    expect(parseInput('  hello there  ')).toEqual({ kind: 'say', text: 'hello there' })
    expect(parseInput('hello\r')).toEqual({ kind: 'say', text: 'hello' })
  })

  it('commands, case-insensitive, arguments ignored', () => {
    expect(parseInput('/peers')).toEqual({ kind: 'peers' })
    expect(parseInput('/LEAD now')).toEqual({ kind: 'lead' })
    expect(parseInput('/quit')).toEqual({ kind: 'quit' })
    expect(parseInput('/exit')).toEqual({ kind: 'quit' })
    expect(parseInput('/help')).toEqual({ kind: 'help' })
    expect(parseInput('/nope')).toEqual({ kind: 'unknown', command: '/nope' })
  })

  it('blank lines are nothing; // escapes a leading slash', () => {
    expect(parseInput('   ')).toEqual({ kind: 'empty' })
    expect(parseInput('//peers is a command')).toEqual({ kind: 'say', text: '/peers is a command' })
  })
})

describe('wire payloads', () => {
  it('accepts well-formed chat and hello payloads only', () => {
    expect(decodeChat({ name: 'bob', text: 'hi' })).toEqual({ name: 'bob', text: 'hi' })
    expect(decodeChat({ name: 'bob' })).toBeUndefined()
    expect(decodeChat({ name: '', text: 'x' })).toBeUndefined()
    expect(decodeChat('bob: hi')).toBeUndefined()
    expect(decodeChat(null)).toBeUndefined()
    expect(decodeChat({ name: 'bob', text: 'x'.repeat(5000) })).toBeUndefined()
    expect(decodeHello({ name: 'carol' })).toBe('carol')
    expect(decodeHello({ name: 3 })).toBeUndefined()
    expect(decodeHello(undefined)).toBeUndefined()
  })

  it('strips terminal control characters from what arrives', () => {
    expect(sanitize('a\u001b[2Jb\tc')).toBe('a?[2Jb\tc')
    expect(decodeChat({ name: 'e\u001bvil', text: 'x\u0007' })).toEqual({ name: 'e?vil', text: 'x?' })
  })
})

describe('diffReady', () => {
  it('reports peers that became ready and those that stopped being ready', () => {
    const first = diffReady(new Set(), [
      { id: 'a', state: 'ready' },
      { id: 'b', state: 'connecting' },
    ])
    expect(first).toEqual({ joined: ['a'], left: [], ready: new Set(['a']) })
    const second = diffReady(first.ready, [
      { id: 'a', state: 'disconnected' },
      { id: 'b', state: 'ready' },
    ])
    expect(second).toEqual({ joined: ['b'], left: ['a'], ready: new Set(['b']) })
    expect(diffReady(second.ready, [{ id: 'b', state: 'ready' }])).toEqual({ joined: [], left: [], ready: new Set(['b']) })
  })
})

describe('render', () => {
  it('chat lines are "name: text"', () => {
    expect(render({ ev: 'chat', from: 'id1', name: 'alice', text: 'hello' })).toBe('alice: hello')
  })

  it('joins, leaves, the leader', () => {
    expect(render({ ev: 'joined', id: 'id', name: 'bob' })).toBe('* bob joined')
    expect(render({ ev: 'left', id: '0123456789abcdef', name: 'bob' })).toBe('* bob left')
    expect(render({ ev: 'left', id: '0123456789abcdef' })).toBe('* 01234567… left')
    expect(render({ ev: 'leader', id: 'x', name: 'bob', term: 3, role: 'follower' })).toBe('* bob leads (term 3)')
    expect(render({ ev: 'leader', id: 'me', term: 4, role: 'leader' })).toBe('* you lead now (term 4)')
    expect(render({ ev: 'leader', term: 0, role: 'none' })).toBe('* no leader yet (term 0)')
    expect(render({ ev: 'leader', term: 5, role: 'candidate' })).toBe('* standing for leader (term 5)')
  })

  it('a sent line is silent unless nobody got it', () => {
    expect(render({ ev: 'sent', text: 'x', delivered: 2, failed: 0 })).toBe('')
    expect(render({ ev: 'sent', text: 'x', delivered: 0, failed: 0 })).toMatch(/nobody/)
    expect(render({ ev: 'sent', text: 'x', delivered: 1, failed: 1 })).toMatch(/not delivered to 1/)
  })

  it('/peers lists names, state and the leader', () => {
    const text = render({
      ev: 'peers',
      self: { id: 'me', name: 'alice', leader: false },
      peers: [
        { id: 'b', name: 'bob', state: 'ready', leader: true, rttMs: 0.42 },
        { id: 'c', state: 'connecting', leader: false },
      ],
    })
    expect(text.split('\n')).toEqual(['* 1 peer(s) connected; you are alice', '*   bob b ready, 0.4 ms, leader', '*   (no name yet) c connecting'])
  })

  it('/lead results and errors', () => {
    expect(render({ ev: 'lead', ok: true, term: 2 })).toBe('* you are the leader (term 2)')
    expect(render({ ev: 'lead', ok: false, error: 'timed out' })).toBe('* could not become leader: timed out')
    expect(render({ ev: 'error', message: 'unknown command /x' })).toBe('! unknown command /x')
  })
})
