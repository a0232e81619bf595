/**
 * `npm run demo -- --start` end to end: the demo creates its own 4-validator devnet in a
 * temp dir on free ports, runs the whole scenario through CLI child processes and the
 * client (every query verified against a committed header), stops the nodes and removes
 * the dir. The test asserts a zero exit, the key steps in the output, and that nothing is
 * left running. The CLI commands run through the CLI entry in the demo's process
 * (--in-process-cli): the same code as `aidledger …` minus a child process's ~2 s of module
 * loading each; test/src/cli/cli.test.ts covers the spawned binary. Slow by nature (dozens of CLI processes): bounded at 25 minutes for a
 * loaded machine; about 2 minutes on an idle one.
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const LIMIT_MS = 25 * 60_000
t.setTimeout(LIMIT_MS + 120_000)

t.test('npm run demo -- --start runs the scenario and cleans up', async (t) => {
  const child = spawn(process.execPath, ['--import', './src/register.js', 'src/cli/demo.ts', '--start', '--in-process-cli'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  let out = ''
  let err = ''
  child.stdout.on('data', (d: Buffer) => { out += d.toString() })
  child.stderr.on('data', (d: Buffer) => { err += d.toString() })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  t.teardown(async () => {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return
    child.kill('SIGTERM') // the demo stops its nodes and removes its dir
    const timer = setTimeout(() => { try { process.kill(-(child.pid as number), 'SIGKILL') } catch {} }, 60_000)
    await exited
    clearTimeout(timer)
  })
  const timer = setTimeout(() => { child.kill('SIGTERM') }, LIMIT_MS)
  const code = await exited
  clearTimeout(timer)
  if (code !== 0) t.comment(`demo output:\n${out}\n${err}`)
  t.equal(code, 0, 'the demo exits 0')
  const dir = /A 4-validator devnet of our own in (\S+)/.exec(out)?.[1]
  t.ok(dir !== undefined, 'it made its own devnet')
  for (const want of [
    /registers a-town \(office 16, township/,
    /B's township receives the application for national dibao 1001\n.*\n +→ 0 OK, height \d+, data [0-9a-f]{16}…/,
    /handling office 16 \(fixed by rule: the hukou township\)/,
    /refused as expected\) A's county tries to approve without an income check/,
    /B's county tries to decide A's case\n.*\n +→ 24 FORBIDDEN_REGION/,
    /event \(subscribe .*\): disbursement amount_fen=70000 program=1001/,
    /DISBURSEMENT_DUPLICATE/,
    /B's county approves 800 yuan\/month\n.*\n +→ 87 EXCLUSIVITY_CONFLICT/,
    /the only live basic-living enrollment is [0-9a-f]{16}… in 420102/,
    /1 enrollment\(s\) of the person across provinces/,
    /audit trail \(6 entries\): application.submit → application.forward → application.accept → publicity.open → publicity.close → decision.approve/,
    /client.query\('\/enrolled\/.*\(library\): verified=true/,
    /demo finished: every step gave the expected result/,
  ]) t.match(out, want)
  const queries = out.match(/✓ \$ aidledger query /g)?.length ?? 0
  const proven = out.match(/proven at height \d+ against header \d+ app_hash [0-9A-F]{16}… \(commit \d+\/40 power, trust same-set\)/g)?.length ?? 0
  t.ok(queries >= 10, `${queries} CLI queries`)
  t.equal(proven, queries, 'every CLI query was proven against a committed header')
  if (dir !== undefined) t.notOk(existsSync(dir), 'temp dir removed')
})
