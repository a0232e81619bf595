/**
 * Read-ahead for a block: the store keys each tx's handler is going to read, derived from
 * its envelope and body (and, in later rounds, from the records those reads returned),
 * read concurrently into the block's ReadCache (state/kv.ts) before the txs run one by
 * one.
 *
 * Why: handlers await one store read after another, and each read of the disk-backed
 * store is a LevelDB get through libuv's thread pool. bench/state.ts (1,000-tx mixed
 * blocks, 10^4 subjects) counted ~7,900 reads of ~4,500 distinct keys per block; awaited
 * in sequence they dominated finalizeBlock (the process was ~40 % idle). Reads issued
 * together overlap in the pool (the store's own measurement, state/store/tree.ts: 6,000
 * random reads ~125–190 ms in parallel against ~470–590 ms one after another).
 *
 * Hints only: a key missing here is read when the handler asks for it, and a key read for
 * nothing costs one read. Results cannot differ, because the reads are of the committed
 * state, which does not change while the block runs (writes go to the block overlay,
 * which the handlers consult first).
 */
import type { Schema } from '../src/codec/index.ts'
import type { PreparedTx } from './execute.ts'
import { decodeRec, type ReadCache } from './kv.ts'
import { Entity, K } from './keys.ts'
import {
  ApplicationSchema, EnrollmentSchema, HouseholdSchema, OfficeRefSchema, PersonSchema, ProgramSchema,
  type Application, type Enrollment, type Household,
} from './records.ts'
import { CONSENT_PURPOSES, REQUIRED_ATTESTATIONS, type Body } from './schema.ts'

/** Waves of reads: body keys → keys named by those records → keys named by those. */
const MAX_ROUNDS = 3

/** What a hint can ask for: a key, or a key plus what to do with its record next wave. */
interface Wants {
  want: (key: Uint8Array) => void
  /** Wants `key`; once read (next wave), runs `then` with its record if there is one. */
  after: <T>(schema: Schema<T>, key: Uint8Array, then: (rec: T) => void) => void
}

/** The keys tx `p` (body decoded, envelope well-formed) will read, mirroring its handler. */
function hints (p: PreparedTx, body: Body, q: Wants): void {
  const opId = p.opId as Uint8Array
  const audit = (entity: Uint8Array): void => q.want(K.auditCount(entity))
  const person = (subjectId: Uint8Array, then?: (hh: Household) => void): void => {
    audit(Entity.subject(subjectId))
    q.after(PersonSchema, K.person(subjectId), (pr) => {
      if (pr.householdId !== null) q.after(HouseholdSchema, K.household(pr.householdId), (hh) => then?.(hh))
    })
  }
  const application = (id: Uint8Array, then?: (app: Application) => void): void => {
    audit(Entity.application(id))
    if (then === undefined) q.want(K.application(id))
    else q.after(ApplicationSchema, K.application(id), then)
  }
  const enrollment = (id: Uint8Array, then?: (e: Enrollment) => void): void => {
    audit(Entity.enrollment(id))
    q.after(EnrollmentSchema, K.enrollment(id), (e) => {
      q.want(K.program(e.programId))
      then?.(e)
    })
  }
  switch (body.type) {
    case 'household.register':
      q.want(K.household(body.value.householdId))
      audit(Entity.household(body.value.householdId))
      for (const m of body.value.members) { q.want(K.person(m)); audit(Entity.subject(m)) }
      return
    case 'household.propose-change':
    case 'household.decide-change':
    case 'consent.record':
      q.want(K.household(body.value.householdId))
      audit(Entity.household(body.value.householdId))
      return
    case 'consent.revoke':
      q.want(K.consent(body.value.householdId, body.value.purpose))
      audit(Entity.household(body.value.householdId))
      return
    case 'application.submit':
      q.want(K.program(body.value.programId))
      q.want(K.openApplication(body.value.subjectId, body.value.programId))
      audit(Entity.application(opId))
      person(body.value.subjectId, (hh) => q.want(K.officeSeat(hh.hukouRegion, 'civil-affairs')))
      return
    case 'application.forward':
    case 'application.accept':
    case 'publicity.open':
    case 'publicity.object':
    case 'publicity.resolve':
    case 'publicity.close':
      application(body.value.applicationId)
      return
    case 'attestation.issue': {
      const death = body.value.type === 'death'
      person(body.value.subjectId, (hh) => {
        if (!death && !hh.statutoryCheck) for (const purpose of CONSENT_PURPOSES) q.want(K.consent(hh.id, purpose))
      })
      return
    }
    case 'decision.reject':
      application(body.value.applicationId, (app) => q.want(K.program(app.programId)))
      return
    case 'decision.approve': {
      const emergencyId = body.value.emergencyId
      if (emergencyId !== null) q.want(K.emergency(emergencyId))
      q.want(K.enrollment(opId))
      audit(Entity.enrollment(opId))
      application(body.value.applicationId, (app) => {
        q.want(K.person(app.subjectId))
        audit(Entity.subject(app.subjectId))
        q.after(ProgramSchema, K.program(app.programId), (program) => {
          for (const t of REQUIRED_ATTESTATIONS[program.category]) q.want(K.attestation(app.subjectId, t))
          q.want(K.exclusivity(app.subjectId, program.group))
        })
      })
      return
    }
    case 'enrollment.pause':
    case 'enrollment.resume':
    case 'enrollment.adjust':
    case 'enrollment.exit':
      enrollment(body.value.enrollmentId)
      return
    case 'disbursement.pay': {
      const { enrollmentId, period } = body.value
      q.want(K.disbursement(enrollmentId, period))
      enrollment(enrollmentId, (e) => {
        q.want(K.person(e.subjectId))
        const year = Math.floor(period / 100)
        q.want(K.budget(e.programId, year, e.region))
        audit(Entity.budget(e.programId, year, e.region))
      })
      return
    }
    case 'alert.raise':
      q.want(K.office(body.value.toOfficeId))
      audit(Entity.alert(opId))
      return
    case 'alert.assign':
    case 'alert.acknowledge':
    case 'alert.resolve':
      q.want(K.alert(body.value.alertId))
      audit(Entity.alert(body.value.alertId))
      return
    default:
      // Offices, programs, budgets, emergencies, governance: rare; read on demand.
  }
}

interface Later { schema: Schema<unknown>, key: Uint8Array, then: (rec: unknown) => void }

/** Reads ahead what the block's txs will read, in up to MAX_ROUNDS concurrent waves. */
export async function prefetchBlock (reads: ReadCache, txs: readonly PreparedTx[]): Promise<void> {
  let keys: Uint8Array[] = []
  let later: Later[] = []
  const q: Wants = {
    want: (key) => { if (reads.peek(key) === undefined) keys.push(key) },
    after: (schema, key, then) => {
      q.want(key)
      later.push({ schema: schema as Schema<unknown>, key, then: then as (rec: unknown) => void })
    },
  }
  for (const p of txs) {
    if (p.env === null || p.opId === null) continue
    q.want(K.replay(p.opId))
    q.after(OfficeRefSchema, K.officeByKey(p.env.signer), (ref) => q.want(K.office(ref.id)))
    if (p.body?.ok === true) hints(p, p.body.value, q)
  }
  for (let round = 0; round < MAX_ROUNDS && keys.length > 0; round++) {
    await reads.prefetch(keys)
    const run = later
    keys = []
    later = []
    if (round === MAX_ROUNDS - 1) break
    for (const l of run) {
      const raw = reads.peek(l.key)
      if (raw == null) continue
      let rec: unknown
      try {
        rec = decodeRec(l.schema, raw)
      } catch {
        continue // a record that does not decode fails its handler, not the read-ahead
      }
      l.then(rec)
    }
  }
}
