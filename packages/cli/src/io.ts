/** How commands talk to the terminal (replaceable in tests). */
export interface Io {
  out: (line: string) => void
  err: (line: string) => void
  /** stdout is a terminal: live views redraw in place. */
  tty: boolean
  /** Rewrites the whole screen (TTY only). */
  screen: (lines: string[]) => void
}

export const processIo: Io = {
  out: (line) => void process.stdout.write(`${line}\n`),
  err: (line) => void process.stderr.write(`${line}\n`),
  tty: process.stdout.isTTY === true,
  screen: (lines) => void process.stdout.write(`\x1b[H\x1b[2J${lines.join('\n')}\n`),
}

/** Resolves when the signal aborts (Ctrl-C, SIGTERM). */
export const untilAborted = (signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })))
