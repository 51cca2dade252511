/** Where the group secret comes from: --secret, MESHKIT_SECRET, or --secret-file. */
import { readFileSync } from 'node:fs'
import { UsageError, type Flags } from './args.js'

export const SECRET_ENV = 'MESHKIT_SECRET'

export function resolveSecret(flags: Pick<Flags, 'secret' | 'secretFile'>, env: NodeJS.ProcessEnv = process.env, readFile: (path: string) => string = (p) => readFileSync(p, 'utf8')): string {
  const sources = [flags.secret !== undefined, flags.secretFile !== undefined].filter(Boolean).length
  if (sources > 1) throw new UsageError('give the group secret once: --secret or --secret-file, not both')
  let secret: string | undefined = flags.secret
  if (flags.secretFile !== undefined) {
    try {
      secret = readFile(flags.secretFile).trim()
    } catch (err) {
      throw new UsageError(`cannot read the secret file ${flags.secretFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
    }
  }
  secret ??= env[SECRET_ENV]
  if (secret === undefined || secret === '') {
    throw new UsageError(`no group secret: pass --secret S, set ${SECRET_ENV}, or --secret-file PATH (the same on every device; \`meshkit secret\` prints a new one)`)
  }
  return secret
}
