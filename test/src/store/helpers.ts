/** Temp directories for store tests: created per test, removed when the test ends. */
import type { Test } from 'tap'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export async function withDir (t: Test, fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'aid-store-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  await fn(dir)
}
