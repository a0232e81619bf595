/** Shared helpers for the config and CLI tests: temp dirs, a seeded PRNG, byte mutations. */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'
import { AidError, type ErrorCode } from '../../../src/errors.ts'

/** A fresh temp dir removed when the test ends. */
export async function tempDir (t: Test, prefix = 'aidledger-cfg-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

/** xorshift128+ seeded PRNG (tests only): reproducible from the printed seed. */
export function prng (seed: number): { next: () => number, int: (n: number) => number, pick: <T>(xs: readonly T[]) => T } {
  let s0 = BigInt(seed) | 1n
  let s1 = BigInt(seed * 7919 + 13) | 1n
  const mask = (1n << 64n) - 1n
  const next = (): number => {
    let x = s0
    const y = s1
    s0 = y
    x ^= (x << 23n) & mask
    x ^= x >> 17n
    x ^= y ^ (y >> 26n)
    s1 = x & mask
    return Number((s0 + s1) & 0xffffffffn) / 2 ** 32
  }
  const int = (n: number): number => Math.floor(next() * n)
  return { next, int, pick: (xs) => xs[int(xs.length)] as (typeof xs)[number] }
}

const TOKENS = ['"', '\'', '{', '}', '[', ']', ',', ':', '=', '\n', '#', '-1', '0', '1.5', 'true', 'null', '""', '"x"', '\\', '\u0000', '\uFFFD', 'é', '[rpc]', 'ms', '@', '9999999999999999999999']

/** One random edit of `text`: flip, insert, delete, truncate, duplicate a slice or splice in a token. */
export function mutate (text: string, r: ReturnType<typeof prng>): string {
  const pos = r.int(text.length + 1)
  switch (r.int(6)) {
    case 0: return text.slice(0, pos)
    case 1: return text.slice(0, pos) + text.slice(pos + 1 + r.int(8))
    case 2: return text.slice(0, pos) + r.pick(TOKENS) + text.slice(pos)
    case 3: {
      const c = text.charCodeAt(pos) || 32
      return text.slice(0, pos) + String.fromCharCode(c ^ (1 << r.int(7))) + text.slice(pos + 1)
    }
    case 4: {
      const end = Math.min(text.length, pos + 1 + r.int(40))
      return text.slice(0, end) + text.slice(pos, end) + text.slice(end)
    }
    default: return text.slice(0, pos) + r.pick(TOKENS) + text.slice(pos + 1)
  }
}

/** Random bytes as (possibly invalid) text. */
export function randomText (r: ReturnType<typeof prng>, n: number): string {
  return Array.from({ length: n }, () => String.fromCharCode(r.int(256))).join('')
}

/** Run `fn`; return the AidError it threw (failing the test on any other outcome). */
export function expectAidError (t: Test, fn: () => unknown, code: ErrorCode, label: string): AidError | undefined {
  try {
    fn()
  } catch (err) {
    if (err instanceof AidError) {
      t.equal(err.code, code, `${label}: code`)
      return err
    }
    t.fail(`${label}: threw a non-AidError: ${String(err)}`)
    return undefined
  }
  t.fail(`${label}: did not throw`)
  return undefined
}

export async function rejectsAid (t: Test, p: Promise<unknown>, code: ErrorCode, label: string): Promise<AidError | undefined> {
  try {
    await p
  } catch (err) {
    if (err instanceof AidError) {
      t.equal(err.code, code, `${label}: code (${err.message})`)
      return err
    }
    t.fail(`${label}: rejected with a non-AidError: ${String(err)}`)
    return undefined
  }
  t.fail(`${label}: did not reject`)
  return undefined
}
