/**
 * Where the term and vote live across restarts. A vote is persisted before it
 * is acknowledged, so a device never accepts two leaders for one term, even
 * across a crash.
 */
import { DEFAULT_STORE_RECORD } from './constants.js'
import { decodeState, encodeState } from './codec.js'
import type { ElectionState } from './types.js'

export interface ElectionStore {
  /** The state saved last, or `undefined` on first start. */
  load: () => Promise<ElectionState | undefined>
  /** Saves durably; resolves when a crash can no longer lose it. */
  save: (state: ElectionState) => Promise<void>
}

/** An {@link ElectionStore} in memory, for tests and examples: what a restart would find. */
export interface MemoryElectionStore extends ElectionStore {
  /** The state saved last. */
  readonly current: ElectionState | undefined
  /** Number of saves so far. */
  readonly saves: number
}

export function memoryElectionStore(initial?: ElectionState): MemoryElectionStore {
  let current = initial !== undefined ? structuredClone(initial) : undefined
  let saves = 0
  return {
    get current() {
      return current !== undefined ? structuredClone(current) : undefined
    },
    get saves() {
      return saves
    },
    load: () => Promise.resolve(current !== undefined ? structuredClone(current) : undefined),
    save: (state) => {
      current = structuredClone(state)
      saves++
      return Promise.resolve()
    },
  }
}

/** The part of `@meshkit/identity`'s `IdentityStore` the election needs: named records, written atomically. */
export interface RecordStore {
  read: (name: string) => Promise<Uint8Array | undefined>
  write: (name: string, data: Uint8Array) => Promise<void>
}

/**
 * Keeps the election state as one record (default `election`) of a record
 * store such as the identity store (`fileStore(dir)`: atomic, fsynced writes).
 */
export function identityElectionStore(records: RecordStore, record = DEFAULT_STORE_RECORD): ElectionStore {
  return {
    async load() {
      const bytes = await records.read(record)
      return bytes === undefined ? undefined : decodeState(bytes)
    },
    save: (state) => records.write(record, encodeState(state)),
  }
}
