import { describe, expect, it } from 'vitest'
import { parseArgs } from '../src/args.js'
import { buildTopology, parseReport, type TopologyReport } from '../src/topology.js'

const report = (id: string, peers: string[], rate = 1): TopologyReport => ({
  id,
  peers: peers.map((p) => ({ id: p, in: rate, out: rate })),
  board: { term: 1, version: 0 },
  leader: { id: 'a', term: 1 },
})

describe('buildTopology', () => {
  it('three devices: three nodes, one link per pair, the leader marked', () => {
    const t = buildTopology(report('a', ['b', 'c'], 2), new Map([['b', report('b', ['a', 'c'])], ['c', report('c', ['a', 'b'])]]), 'a')
    expect(t.nodes.map((n) => [n.id, n.self, n.leader])).toEqual([
      ['a', true, true],
      ['b', false, false],
      ['c', false, false],
    ])
    expect(t.links.map((l) => `${l.a}-${l.b}`)).toEqual(['a-b', 'a-c', 'b-c'])
    // this device's own numbers for its own links
    expect(t.links.find((l) => l.a === 'a' && l.b === 'b')?.rate).toBe(4)
    expect(t.nodes[0]).toMatchObject({ in: 4, out: 4 })
  })

  it('a device this one is no longer connected to disappears with its report', () => {
    const t = buildTopology(report('a', ['b']), new Map([['b', report('b', ['a'])], ['c', report('c', ['a', 'b'])]]), 'b')
    expect(t.nodes.map((n) => n.id)).toEqual(['a', 'b'])
    expect(t.links).toHaveLength(1)
  })

  it('shows a device reached only through a peer', () => {
    const t = buildTopology(report('a', ['b']), new Map([['b', report('b', ['a', 'c'])]]), 'c')
    expect(t.nodes.map((n) => [n.id, n.leader])).toEqual([
      ['a', false],
      ['b', false],
      ['c', true],
    ])
    expect(t.links.map((l) => `${l.a}-${l.b}`)).toEqual(['a-b', 'b-c'])
  })

  it('parseReport refuses junk', () => {
    expect(parseReport(null)).toBeUndefined()
    expect(parseReport({ id: 'a', peers: 'x' })).toBeUndefined()
    expect(parseReport({ ...report('a', ['b']), peers: [{ id: 'b', in: 1, out: 1 }, { id: 3 }] })?.peers).toHaveLength(1)
  })
})

describe('parseArgs', () => {
  it('reads flags and the secret from the environment', () => {
    expect(parseArgs(['--port', '8080', '--json', '--mdns-port=5999'], { MESHKIT_SECRET: 's' })).toEqual({ port: 8080, secret: 's', lan: false, json: true, mdnsPort: 5999, help: false })
    expect(parseArgs(['--secret', 'x', '--lan'], {})).toMatchObject({ secret: 'x', lan: true, port: 0 })
  })

  it.each([
    [[], 'no group secret'],
    [['--secret'], '--secret needs a value'],
    [['--secret', 's', '--port', 'http'], 'must be a port number'],
    [['--secret', 's', '--port', '70000'], 'must be a port number'],
    [['--secret', 's', '--mdns-port', '0'], 'must be a port number'],
    [['--secret', 's', '--what'], 'unknown flag "--what"'],
    [['--secret', 's', 'extra'], 'unknown argument "extra"'],
  ])('%j is a usage error', (argv, message) => {
    expect(() => parseArgs(argv, {})).toThrow(message)
  })
})
