import createDebug from 'debug'
import { afterEach, expect, test } from 'vitest'
import { createLogger, defaultLogger, silentLogger } from '../src/index.js'

afterEach(() => {
  createDebug.disable()
})

test('loggers are silent unless their namespace is enabled', () => {
  const lines: string[] = []
  const log = createLogger('meshkit:test:a')
  const original = createDebug.log
  createDebug.log = (...args: unknown[]) => lines.push(args.map(String).join(' '))
  try {
    log('hidden %d', 1)
    expect(log.enabled).toBe(false)
    createDebug.enable('meshkit:test:*')
    const enabled = defaultLogger().forComponent('meshkit:test:b')
    enabled('shown two')
    enabled.error('bad thing')
    expect(enabled.enabled).toBe(true)
  } finally {
    createDebug.log = original
  }
  expect(lines.some((l) => l.includes('shown two'))).toBe(true)
  expect(lines.some((l) => l.includes('meshkit:test:b:error') && l.includes('bad thing'))).toBe(true)
  expect(lines.some((l) => l.includes('hidden'))).toBe(false)
})

test('the silent logger never reports itself enabled', () => {
  const log = silentLogger().forComponent('x')
  log('nothing')
  expect(log.enabled).toBe(false)
})
