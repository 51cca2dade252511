/** Mesh options from the command line's common flags. */
import { silentLogger } from '@meshkit/log'
import type { MeshOptions } from '@meshkit/mesh'
import type { Flags } from './args.js'

export function meshOptions(flags: Flags, secret: string, extra: Partial<MeshOptions> = {}): MeshOptions {
  const host = flags.lan ? '0.0.0.0' : '127.0.0.1'
  return {
    app: flags.app,
    group: { secret },
    storage: flags.storage ?? 'memory',
    loopbackOnly: !flags.lan,
    ...(flags.interfaces !== undefined ? { interfaces: flags.interfaces } : {}),
    ...(flags.port !== undefined ? { listen: [`${host}:${flags.port}`] } : {}),
    ...(flags.priority !== undefined ? { election: { priority: flags.priority } } : {}),
    logger: silentLogger(),
    ...extra,
  }
}
