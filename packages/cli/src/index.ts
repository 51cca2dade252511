/**
 * @packageDocumentation
 * The `meshkit` command line (`up`, `peers`, `send`, `lead`, `doctor`, `demo`,
 * `secret`). `run(argv)` is the whole program, for embedding and tests.
 */
export { run } from './main.js'
export { parseCommandLine, helpText, UsageError, COMMANDS, type CommandSpec, type Invocation, type Flags, type CommandName } from './args.js'
export { resolveSecret, SECRET_ENV } from './secret.js'
export { renderView, rates, peerLines, type ViewState } from './view.js'
export { interfaceChecks, udpPortCheck, type Check, type Verdict } from './commands/doctor.js'
export type { Io } from './io.js'
