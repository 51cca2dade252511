/**
 * @packageDocumentation
 *
 * Namespaced loggers for meshkit components. Silent by default; enable with
 * the `DEBUG` environment variable, e.g. `DEBUG=meshkit:*` or
 * `DEBUG=meshkit:connection:*`. Every component receives a {@link ComponentLogger}
 * through its `components` and derives its own namespace from it, so an app can
 * route meshkit's logs anywhere by passing its own implementation.
 *
 * @example
 * ```ts
 * import { defaultLogger } from '@meshkit/log'
 * const log = defaultLogger().forComponent('meshkit:connection:dialer')
 * log('dialing %s', peerId)
 * log.error('dial failed: %s', err.message)
 * ```
 */
import createDebug from 'debug'

/** A printf-style log function with `error` and `trace` levels beside it. */
export interface Logger {
  (formatter: string, ...args: unknown[]): void
  error: (formatter: string, ...args: unknown[]) => void
  trace: (formatter: string, ...args: unknown[]) => void
  readonly enabled: boolean
}

/** Hands out one {@link Logger} per component namespace. */
export interface ComponentLogger {
  forComponent: (name: string) => Logger
}

/** Loggers backed by the `debug` package: silent unless `DEBUG` enables the namespace. */
export function defaultLogger(): ComponentLogger {
  return { forComponent: createLogger }
}

/** One `debug`-backed logger; `name:error` and `name:trace` are separate namespaces. */
export function createLogger(name: string): Logger {
  const info = createDebug(name)
  const error = createDebug(`${name}:error`)
  const trace = createDebug(`${name}:trace`)
  const log = (formatter: string, ...args: unknown[]): void => {
    info(formatter, ...args)
  }
  const withLevels = Object.assign(log, {
    error: (formatter: string, ...args: unknown[]) => {
      error(formatter, ...args)
    },
    trace: (formatter: string, ...args: unknown[]) => {
      trace(formatter, ...args)
    },
  })
  // A live getter: enabling DEBUG namespaces later must take effect.
  return Object.defineProperty(withLevels, 'enabled', { get: () => createDebug.enabled(name), enumerable: true }) as Logger
}

/** A logger that drops everything, for hot loops in tests and benchmarks. */
export function silentLogger(): ComponentLogger {
  const noop = (): void => {}
  const log = Object.assign(noop, { error: noop, trace: noop, enabled: false })
  return { forComponent: () => log }
}
