// Reaper for the e2e harness (test/e2e/harness.ts), plain JS so it starts fast. It reads
// lines on stdin: "pid N" (a node process to watch), "forget N" (it exited), "dir PATH"
// (a temp dir to remove), "done" (the harness cleaned up itself). When stdin closes
// without "done" — the harness process died: a tap timeout, SIGKILL, a crash — it SIGKILLs
// every pid still listed and removes every dir. The kernel closes the pipe however the
// harness dies, so nothing outlives a test.
import { rmSync } from 'node:fs'

const pids = new Set()
const dirs = new Set()
let done = false
let buf = ''

process.on('SIGINT', () => {}) // a terminal Ctrl-C is for the harness, not for us
process.stdin.setEncoding('utf8')
process.stdin.on('data', (chunk) => {
  buf += chunk
  let i
  while ((i = buf.indexOf('\n')) >= 0) {
    const line = buf.slice(0, i)
    buf = buf.slice(i + 1)
    const sp = line.indexOf(' ')
    const cmd = sp < 0 ? line : line.slice(0, sp)
    const arg = sp < 0 ? '' : line.slice(sp + 1)
    if (cmd === 'pid') pids.add(Number(arg))
    else if (cmd === 'forget') pids.delete(Number(arg))
    else if (cmd === 'dir') dirs.add(arg)
    else if (cmd === 'done') done = true
  }
})
process.stdin.on('end', () => {
  if (done) process.exit(0)
  for (const p of pids) {
    try { process.kill(p, 'SIGKILL') } catch {}
  }
  setTimeout(() => {
    for (const d of dirs) {
      try { rmSync(d, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 }) } catch {}
    }
    process.exit(0)
  }, 1000)
})
