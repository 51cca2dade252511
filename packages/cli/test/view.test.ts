import { createSocket } from 'node:dgram'
import { describe, expect, test } from 'vitest'
import { interfaceChecks, udpPortCheck } from '../src/commands/doctor.js'
import { peerLines, rates, renderView } from '../src/view.js'

const peer = (id: string, state: 'ready' | 'rejected', extra = {}) => ({ id, state, addresses: [{ host: '10.0.0.2', port: 4000, family: 4 as const }], leader: false, ...extra })
const stat = (peerId: string, sent: number, received: number) => ({ peerId, state: 'ready' as const, rttMs: 1.25, messagesSent: sent, messagesReceived: received, bytesSent: 0, bytesReceived: 0, streamsOpened: 1, reconnects: 0, reliableOutbox: 0 })

describe('live view', () => {
  test('shows each peer with state, rtt, rates and address, and the leader', () => {
    const lines = renderView({
      app: 'studio',
      id: 'aaaaaaaa-1',
      port: 4000,
      scope: 'loopback',
      leader: { id: 'bbbbbbbb-2', term: 3, role: 'follower' },
      peers: [peer('bbbbbbbb-2', 'ready', { leader: true }), peer('cccccccc-3', 'rejected', { reason: 'wrong-group' })],
      stats: [stat('bbbbbbbb-2', 0, 0)],
      rates: new Map([['bbbbbbbb-2', { sent: 12, received: 7 }]]),
      recent: ['12:00:00 peer bbbbbbbb ready'],
    })
    const text = lines.join('\n')
    expect(text).toContain('leader bbbbbbbb · term 3')
    expect(lines.find((l) => l.startsWith('bbbbbbbb'))).toMatch(/ready\*\s+1\.3 ms\s+12\s+7\s+10\.0\.0\.2:4000/)
    expect(lines.find((l) => l.startsWith('cccccccc'))).toContain('rejected (wrong-group)')
    expect(text).toContain('12:00:00 peer bbbbbbbb ready')
  })

  test('an empty mesh says what is needed', () => {
    const lines = renderView({ app: 'a', id: 'x', port: undefined, scope: 'lan', leader: { id: undefined, term: 0, role: 'none' }, peers: [], stats: [], rates: new Map(), recent: [] })
    expect(lines.join('\n')).toMatch(/no leader yet[\s\S]*same --app and group secret/)
  })

  test('rates are per second over the interval and never negative', () => {
    const r = rates([stat('p', 10, 10)], [stat('p', 30, 5)], 500)
    expect(r.get('p')).toEqual({ sent: 40, received: 0 })
  })

  test('peer lines mark the leader', () => {
    expect(peerLines([peer('p1', 'ready')], { id: 'p1', term: 2, role: 'follower' })[0]).toContain('leader (term 2)')
    expect(peerLines([], { id: undefined, term: 0, role: 'none' })).toEqual(['no peers found'])
  })
})

describe('doctor checks', () => {
  test('interfaces: addresses listed; no network interface under --lan is a failure; an unknown --interface is named', () => {
    const lo = [{ address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4' as const, mac: '00:00:00:00:00:00', internal: true, cidr: '127.0.0.1/8' }]
    const checks = interfaceChecks(true, undefined, { lo })
    expect(checks.find((c) => c.check === 'interface lo')?.detail).toContain('IPv4 127.0.0.1')
    expect(checks.find((c) => c.check === 'network')?.verdict).toBe('fail')
    expect(interfaceChecks(true, ['wlan9'], { lo }).find((c) => c.check === 'interface wlan9')?.detail).toBe('no such interface')
  })

  test('udp port: free port ok, a port in use fails with EADDRINUSE and what to do', async () => {
    expect((await udpPortCheck(0, false)).verdict).toBe('ok')
    const taken = createSocket('udp4')
    await new Promise<void>((r) => taken.bind(0, '127.0.0.1', () => r()))
    try {
      const check = await udpPortCheck(taken.address().port, false)
      expect(check.verdict).toBe('fail')
      expect(check.detail).toContain('EADDRINUSE')
      expect(check.fix).toContain('another --port')
    } finally {
      taken.close()
    }
  })
})
