/**
 * Reads a node's JSON log (src/log.ts, `--log-format json`: one object per line with time,
 * level, moniker, module, msg and fields) incrementally: each refresh() parses only what
 * was appended since the last one. Lines that are not JSON (harness start markers, a
 * stack trace printed by a crashing process) are kept as { msg: '<raw>', raw }.
 */
import { closeSync, existsSync, openSync, readSync, fstatSync } from 'node:fs'

export interface LogEntry {
  time?: string
  level?: string
  module?: string
  msg: string
  /** Present for non-JSON lines. */
  raw?: string
  [field: string]: unknown
}

export class LogReader {
  readonly file: string
  readonly entries: LogEntry[] = []
  private offset = 0
  private partial = ''

  constructor (file: string) {
    this.file = file
  }

  /** Parses whatever was appended since the last call; returns the number of new entries. */
  refresh (): number {
    if (!existsSync(this.file)) return 0
    const fd = openSync(this.file, 'r')
    let added = 0
    try {
      const size = fstatSync(fd).size
      if (size < this.offset) { // truncated or replaced: start over
        this.offset = 0
        this.partial = ''
        this.entries.length = 0
      }
      while (this.offset < size) {
        const buf = Buffer.alloc(Math.min(1 << 20, size - this.offset))
        const n = readSync(fd, buf, 0, buf.length, this.offset)
        if (n <= 0) break
        this.offset += n
        const text = this.partial + buf.subarray(0, n).toString('utf8')
        const lines = text.split('\n')
        this.partial = lines.pop() ?? ''
        for (const line of lines) {
          if (line.trim() === '') continue
          this.entries.push(parseLine(line))
          added += 1
        }
      }
    } finally {
      closeSync(fd)
    }
    return added
  }

  /** Entries from index `from` on that match. */
  find (pred: (e: LogEntry) => boolean, from = 0): LogEntry[] {
    this.refresh()
    const out: LogEntry[] = []
    for (let i = from; i < this.entries.length; i++) {
      const e = this.entries[i]
      if (e !== undefined && pred(e)) out.push(e)
    }
    return out
  }
}

function parseLine (line: string): LogEntry {
  if (line.startsWith('{')) {
    try {
      const v = JSON.parse(line) as unknown
      if (typeof v === 'object' && v !== null && typeof (v as { msg?: unknown }).msg === 'string') return v as LogEntry
    } catch {}
  }
  return { msg: line, raw: line }
}

export function num (v: unknown): number | undefined {
  return typeof v === 'number' && Number.isSafeInteger(v) ? v : undefined
}
