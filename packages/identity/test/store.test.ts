import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm, stat, writeFile, readdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterEach, describe, expect, test } from 'vitest'
import {
  defaultStoreDir,
  fileStore,
  IDENTITY_RECORD,
  IdentityCorruptError,
  IdentityLockedError,
  IdentityStorageError,
  isDeviceId,
  loadOrCreateIdentity,
  memoryStore,
  openIdentity,
  rotateDeviceKey,
  sign,
  verify,
} from '../src/index.js'

const dirs: string[] = []
const tempDir = async (): Promise<string> => {
  const dir = await mkdtemp(join(tmpdir(), 'meshkit-identity-'))
  dirs.push(dir)
  return dir
}
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })))
})

describe('device identity in a file store', () => {
  test('is created once, persisted with mode 0600 and the same on every later load', async () => {
    const dir = join(await tempDir(), 'nested', 'state')
    const first = await loadOrCreateIdentity(fileStore(dir))
    expect(isDeviceId(first.id)).toBe(true)
    const again = await loadOrCreateIdentity(fileStore(dir))
    expect(again.id).toBe(first.id)
    expect(again.publicKey).toEqual(first.publicKey)
    expect((await stat(join(dir, IDENTITY_RECORD))).mode & 0o777).toBe(0o600)
    expect((await stat(dir)).mode & 0o777).toBe(0o700)
    expect(await readdir(dir)).toEqual([IDENTITY_RECORD]) // no temp files left behind
    const message = new Uint8Array([7, 7, 7])
    expect(verify(first.publicKey, message, again.sign(message))).toBe(true)
  })

  test('keeps the secret key out of JSON and enumeration', async () => {
    const identity = await loadOrCreateIdentity(memoryStore())
    expect(Object.keys(identity)).not.toContain('secretKey')
    expect(JSON.stringify(identity)).not.toContain('secret')
    expect(identity.secretKey.length).toBe(64)
  })

  test.each([
    ['not JSON', '{{{'],
    ['wrong format', JSON.stringify({ format: 9 })],
    ['bad id', JSON.stringify({ format: 1, id: 'x', secretKey: '', createdAt: 1 })],
    ['truncated key', JSON.stringify({ format: 1, id: '6f9619ff-8b86-4011-b42d-00c04fc964ff', secretKey: 'AAAA', createdAt: 1 })],
    ['invalid UTF-8', '\xff\xfe'],
  ])('a corrupt record (%s) is a typed error and is left untouched', async (_label, content) => {
    const dir = await tempDir()
    await writeFile(join(dir, IDENTITY_RECORD), content, 'latin1')
    const before = await readFile(join(dir, IDENTITY_RECORD))
    await expect(loadOrCreateIdentity(fileStore(dir))).rejects.toBeInstanceOf(IdentityCorruptError)
    expect(await readFile(join(dir, IDENTITY_RECORD))).toEqual(before)
  })

  test('an unreadable store is a typed error naming the path', async () => {
    const dir = await tempDir()
    await writeFile(join(dir, 'file'), 'x')
    const err = await loadOrCreateIdentity(fileStore(join(dir, 'file', 'state'))).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(IdentityStorageError)
    expect((err as Error).message).toContain(join(dir, 'file'))
  })

  test('key rotation keeps the device id', async () => {
    const store = fileStore(await tempDir())
    const before = await loadOrCreateIdentity(store)
    const after = await rotateDeviceKey(store, before)
    expect(after.id).toBe(before.id)
    expect(after.publicKey).not.toEqual(before.publicKey)
    expect((await loadOrCreateIdentity(store)).publicKey).toEqual(after.publicKey)
  })

  test('the default directory follows the platform convention', () => {
    expect(defaultStoreDir('myapp', { XDG_CONFIG_HOME: '/cfg' }, 'linux')).toBe('/cfg/meshkit/myapp')
    expect(defaultStoreDir('myapp', { APPDATA: 'C:\\Users\\a\\AppData\\Roaming' }, 'win32')).toContain('meshkit')
    expect(defaultStoreDir('myapp', {}, 'darwin')).toContain(join('Library', 'Application Support', 'meshkit', 'myapp'))
    expect(() => defaultStoreDir('../etc')).toThrow(RangeError)
  })
})

describe('one running instance per store', () => {
  test('a second open in the same process is refused until the first closes', async () => {
    const store = fileStore(await tempDir())
    const first = await openIdentity(store)
    await expect(openIdentity(fileStore(store.location))).rejects.toBeInstanceOf(IdentityLockedError)
    await first.close()
    const second = await openIdentity(store)
    expect(second.identity.id).toBe(first.identity.id)
    await second.close()
  })

  test('the memory store locks too', async () => {
    const store = memoryStore()
    const first = await openIdentity(store)
    await expect(openIdentity(store)).rejects.toBeInstanceOf(IdentityLockedError)
    await first.close()
    await (await openIdentity(store)).close()
  })

  test('another process holding the store is named; once it is killed the store opens at once', async () => {
    const dir = await tempDir()
    const dist = resolve(import.meta.dirname, '../dist/index.js')
    const child = spawn(
      process.execPath,
      ['--input-type=module', '-e', `const m = await import(${JSON.stringify(dist)}); await m.openIdentity(m.fileStore(${JSON.stringify(dir)})); console.log('ready'); setInterval(() => {}, 1000)`],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    )
    try {
      await new Promise<void>((res, rej) => {
        child.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && res())
        child.once('exit', (code) => rej(new Error(`child exited early (${code})`)))
      })
      const err = await openIdentity(fileStore(dir)).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(IdentityLockedError)
      expect((err as IdentityLockedError).holderPid).toBe(child.pid)
      const exited = new Promise((res) => child.once('exit', res))
      child.kill('SIGKILL')
      await exited
      const opened = await openIdentity(fileStore(dir))
      await opened.close()
    } finally {
      child.kill('SIGKILL')
    }
  })
})

test('sign() is deterministic for a given identity', async () => {
  const identity = await loadOrCreateIdentity(memoryStore())
  const m = new Uint8Array([1])
  expect(sign(identity.secretKey, m)).toEqual(identity.sign(m))
})
