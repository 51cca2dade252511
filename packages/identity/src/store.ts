/**
 * Where a device keeps its identity (and other small records such as the
 * election term): a directory of files, or memory. Writes are atomic; a lock
 * keeps two running instances from sharing one identity.
 */
import { randomBytes } from 'node:crypto'
import { mkdir, open, readFile, rename, rm, unlink } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import { DIR_MODE, FILE_MODE, LOCK_FILE_NAME } from './constants.js'
import { IdentityLockedError, IdentityStorageError } from './errors.js'

/** A held store lock; release it when the instance stops. */
export interface StoreLock {
  release: () => Promise<void>
}

/** Small named records, written atomically, plus an exclusive lock. */
export interface IdentityStore {
  /** Where the records live, for messages (a directory, or `memory:<n>`). */
  readonly location: string
  /** The record's bytes, or `undefined` if it was never written. */
  read: (name: string) => Promise<Uint8Array | undefined>
  /** Replaces the record atomically: readers see the old or the new bytes, never a mix. */
  write: (name: string, data: Uint8Array) => Promise<void>
  /** Takes the store for this instance; throws {@link IdentityLockedError} if another holds it. */
  lock: () => Promise<StoreLock>
}

/**
 * The OS's per-user config directory for an app's meshkit state:
 * `$XDG_CONFIG_HOME/meshkit/<app>` (default `~/.config`) on Linux,
 * `~/Library/Application Support/meshkit/<app>` on macOS,
 * `%APPDATA%\meshkit\<app>` on Windows.
 */
export function defaultStoreDir(app: string, env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/i.test(app)) throw new RangeError(`app name "${app}" must be 1-63 letters, digits or dashes`)
  const base =
    platform === 'win32'
      ? (env.APPDATA ?? join(homedir(), 'AppData', 'Roaming'))
      : platform === 'darwin'
        ? join(homedir(), 'Library', 'Application Support')
        : (env.XDG_CONFIG_HOME ?? join(homedir(), '.config'))
  return join(base, 'meshkit', app)
}

// Directories locked by this process: a second instance in the same process must
// be refused too, and a PID check cannot see it.
const lockedInProcess = new Set<string>()

/** A store in a directory (created with mode 0700; files 0600). */
export function fileStore(dir: string): IdentityStore {
  const root = resolve(dir)
  const lockPath = join(root, LOCK_FILE_NAME)

  const ensureDir = async (): Promise<void> => {
    try {
      await mkdir(root, { recursive: true, mode: DIR_MODE })
    } catch (err) {
      throw new IdentityStorageError(root, 'write', { cause: err })
    }
  }

  return {
    location: root,
    async read(name) {
      const file = join(root, recordFileName(name))
      try {
        return new Uint8Array(await readFile(file))
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
        throw new IdentityStorageError(file, 'read', { cause: err })
      }
    },
    async write(name, data) {
      await ensureDir()
      const file = join(root, recordFileName(name))
      const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
      try {
        const handle = await open(tmp, 'wx', FILE_MODE)
        try {
          await handle.writeFile(data)
          await handle.sync()
        } finally {
          await handle.close()
        }
        await rename(tmp, file)
        await syncDir(root)
      } catch (err) {
        await rm(tmp, { force: true }).catch(() => {})
        throw new IdentityStorageError(file, 'write', { cause: err })
      }
    },
    async lock() {
      await ensureDir()
      if (lockedInProcess.has(root)) throw new IdentityLockedError(root, process.pid)
      await takeLockFile(root, lockPath)
      lockedInProcess.add(root)
      let released = false
      return {
        async release() {
          if (released) return
          released = true
          lockedInProcess.delete(root)
          const holder = await readLockPid(lockPath)
          if (holder === process.pid) await unlink(lockPath).catch(() => {})
        },
      }
    },
  }
}

function recordFileName(name: string): string {
  if (!/^[a-z0-9][a-z0-9._-]{0,63}$/i.test(name) || name.includes('..') || name === LOCK_FILE_NAME) {
    throw new RangeError(`"${name}" is not a valid record name (letters, digits, dot, dash, underscore)`)
  }
  return name
}

async function syncDir(dir: string): Promise<void> {
  // Makes the rename durable. Not supported on every platform (Windows): best effort.
  try {
    const handle = await open(dir, 'r')
    try {
      await handle.sync()
    } finally {
      await handle.close()
    }
  } catch {
    // ignore: the rename itself is atomic
  }
}

async function readLockPid(lockPath: string): Promise<number | undefined> {
  try {
    const pid = Number.parseInt((await readFile(lockPath, 'utf8')).trim(), 10)
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined
  } catch {
    return undefined
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    // EPERM: it exists but belongs to someone else
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * The lock is a file holding the owner's PID, created exclusively. A lock left
 * by a process that no longer runs (crash, kill -9) is taken over at once, so
 * a device restarts immediately after a crash; a time-based stale lock (as in
 * proper-lockfile) would refuse that restart for seconds.
 */
async function takeLockFile(root: string, lockPath: string): Promise<void> {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const handle = await open(lockPath, 'wx', FILE_MODE)
      try {
        await handle.writeFile(`${process.pid}\n`)
      } finally {
        await handle.close()
      }
      return
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new IdentityStorageError(lockPath, 'lock', { cause: err })
    }
    const holder = await readLockPid(lockPath)
    if (holder !== undefined && holder !== process.pid && processAlive(holder)) throw new IdentityLockedError(root, holder)
    // stale (dead owner, or unreadable because its owner crashed mid-write): remove and retry
    await unlink(lockPath).catch(() => {})
  }
  throw new IdentityStorageError(lockPath, 'lock', { cause: new Error('lock file keeps reappearing') })
}

let memoryStores = 0

/** A store in memory, for tests and for apps that keep state elsewhere. */
export function memoryStore(): IdentityStore {
  const records = new Map<string, Uint8Array>()
  const location = `memory:${++memoryStores}`
  let locked = false
  return {
    location,
    async read(name) {
      return records.get(recordFileName(name))?.slice()
    },
    async write(name, data) {
      records.set(recordFileName(name), data.slice())
    },
    async lock() {
      if (locked) throw new IdentityLockedError(location, process.pid)
      locked = true
      let released = false
      return {
        async release() {
          if (released) return
          released = true
          locked = false
        },
      }
    },
  }
}
