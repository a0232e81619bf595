/**
 * Every backend, as wrapped, agrees with noble's ZIP-215 verdict on 10,010 random cases,
 * ordinary ones and ones aimed at the disagreement edges (test/src/crypto/ed25519-cases.ts).
 * The reference verdict is computed once per case and reused for all backends. The seed is
 * printed; rerun a failure with ED25519_SEED=<seed> (and ED25519_CASES=<n>). Budget: noble
 * verifies ~850/s here, so the reference plus the noble backend take ~23 s of CPU and the
 * noble fallbacks inside `sodium` and `node` ~13 s.
 */
import t from 'tap'
import sodium from 'sodium-native'
import { createVerifier, ED25519_BACKENDS } from '../../../src/crypto/ed25519.ts'
import { toHex } from '../../../src/bytes.ts'
import { CASE_KINDS, CASE_MIX, makeCase, referenceVerdict, type SigCase } from './ed25519-cases.ts'

const SEED = process.env.ED25519_SEED !== undefined ? Number(process.env.ED25519_SEED) : 215
const N = Number(process.env.ED25519_CASES ?? 385 * CASE_MIX.length) // 10,010

t.comment(`ED25519_SEED=${SEED} ED25519_CASES=${N}`)
const cases: SigCase[] = []
for (let i = 0; i < N; i++) cases.push(makeCase(SEED, i))
const expected = cases.map((c) => referenceVerdict(c.pub, c.msg, c.sig))

const describe = (i: number): string => {
  const c = cases[i] as SigCase
  return `seed ${SEED} case ${i} (${c.kind}) pub=${toHex(c.pub)} msg=${toHex(c.msg)} sig=${toHex(c.sig)} expected=${String(expected[i])}`
}

t.test('the cases exercise both verdicts in every edge kind', async (t) => {
  t.same([...new Set(CASE_MIX)].sort(), [...CASE_KINDS].sort(), 'the mix covers every kind')
  const valid = new Map<string, number>()
  cases.forEach((c, i) => { if (expected[i] === true) valid.set(c.kind, (valid.get(c.kind) ?? 0) + 1) })
  for (const k of ['valid', 'torsionA', 'torsionR', 'smallOrderA', 'smallOrderR', 'smallOrderBoth']) {
    t.ok((valid.get(k) ?? 0) > 0, `${k} has valid cases`)
  }
  // The point of the wrapper: the raw fast library disagrees with the rule on many of them.
  let rawDisagree = 0
  cases.forEach((c, i) => {
    if (c.pub.length !== 32 || c.sig.length < 64) return
    const raw = sodium.crypto_sign_verify_detached(Buffer.from(c.sig), Buffer.from(c.msg), Buffer.from(c.pub))
    if (raw !== expected[i]) rawDisagree++
  })
  t.ok(rawDisagree > N / 10, `raw libsodium disagrees with ZIP-215 on ${rawDisagree} of ${N} cases`)
})

for (const backend of ED25519_BACKENDS) {
  t.test(`${backend} agrees with noble zip215 on ${N} random cases`, async (t) => {
    const v = createVerifier({ backend })
    let mismatches = 0
    for (let i = 0; i < cases.length; i++) {
      const c = cases[i] as SigCase
      if (v.verify(c.pub, c.msg, c.sig) !== expected[i]) {
        if (mismatches++ < 5) t.fail(`${backend} disagrees: ${describe(i)}`)
      }
    }
    t.equal(mismatches, 0, `${backend}: ${mismatches} mismatches`)
  })
}
