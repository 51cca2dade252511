export {}
export { EventTimeoutError, JsonProcess, ProcessExitedError, spawnJsonProcess, type JsonEvent } from './json-process.js'
