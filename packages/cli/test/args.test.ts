import { describe, expect, test } from 'vitest'
import { COMMANDS, helpText, parseCommandLine, UsageError } from '../src/args.js'
import { resolveSecret } from '../src/secret.js'

describe('command line', () => {
  test('parses each command with its flags', () => {
    const inv = parseCommandLine(['up', '--app', 'studio', '--secret', 'x'.repeat(20), '--port', '4000', '--priority', '5', '--json'])
    expect(inv).toMatchObject({ command: 'up', flags: { app: 'studio', port: 4000, priority: 5, json: true, lan: false } })
    expect(parseCommandLine(['send', 'chat', 'hello world']).positionals).toEqual(['chat', 'hello world'])
    expect(parseCommandLine(['demo', '--nodes', '3', '--lan']).flags).toMatchObject({ nodes: 3, lan: true })
    expect(parseCommandLine(['up', '--secret=-starts-with-a-dash']).flags.secret).toBe('-starts-with-a-dash')
  })

  test('unknown commands and flags, wrong arity and bad numbers are UsageErrors that say what to do', () => {
    const cases: Array<[string[], RegExp]> = [
      [['launch'], /unknown command "launch".*Commands: up, peers/],
      [['up', '--bogus'], /unknown flag --bogus.*usage: meshkit up/],
      [['up', '--app'], /--app needs a value/],
      [['up', '--secret', '-starts-with-a-dash'], /the value after --secret starts with '-': write --secret=VALUE/],
      [['send', 'chat'], /takes 2 arguments, got 1/],
      [['peers', 'extra'], /takes no arguments/],
      [['up', '--port', '70000'], /--port must be a whole number from 0 to 65535/],
      [['demo', '--nodes', '1'], /--nodes must be a whole number from 2 to 16/],
      [['up', '--app', 'no spaces'], /--app "no spaces" must be/],
      [['up', '--interface', 'eth0'], /--interface needs --lan/],
    ]
    for (const [argv, message] of cases) {
      expect(() => parseCommandLine(argv), argv.join(' ')).toThrow(UsageError)
      expect(() => parseCommandLine(argv), argv.join(' ')).toThrow(message)
    }
  })

  test('help lists every command; per-command help shows its usage', () => {
    const all = helpText()
    for (const name of Object.keys(COMMANDS)) expect(all).toContain(`  ${name}`)
    expect(helpText('send')).toContain('meshkit send <channel> <text>')
    expect(parseCommandLine([]).command).toBe('help')
    expect(parseCommandLine(['up', '--help']).flags.help).toBe(true)
  })
})

describe('group secret', () => {
  test('flag, then file, then environment', () => {
    expect(resolveSecret({ secret: 'from-flag' }, { MESHKIT_SECRET: 'env' })).toBe('from-flag')
    expect(resolveSecret({ secretFile: '/s' }, { MESHKIT_SECRET: 'env' }, () => ' from-file\n')).toBe('from-file')
    expect(resolveSecret({}, { MESHKIT_SECRET: 'env' })).toBe('env')
  })

  test('missing, doubled or unreadable secrets are UsageErrors', () => {
    expect(() => resolveSecret({}, {})).toThrow(/no group secret: pass --secret S, set MESHKIT_SECRET/)
    expect(() => resolveSecret({ secret: 'a', secretFile: '/b' }, {})).toThrow(/not both/)
    const enoent = (): string => {
      throw Object.assign(new Error('nope'), { code: 'ENOENT' })
    }
    expect(() => resolveSecret({ secretFile: '/missing' }, {}, enoent)).toThrow(/cannot read the secret file \/missing: ENOENT/)
  })
})
