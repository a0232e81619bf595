/**
 * Valid social-assistance txs for the soak (DESIGN §6): a genesis app_state with a
 * civil-affairs line down to a few townships whose keys the soak holds, and a generator of
 * `household.register` txs signed by those townships. Each household and member id is
 * fresh (from the seeded PRNG), so every tx stays valid however many are sent, in any
 * order, from any number of nodes.
 */
import { toHex } from '../../src/bytes.ts'
import { createSigner, keyPairFromSeed, type Ed25519KeyPair } from '../../src/crypto/ed25519.ts'
import { sha256 } from '../../src/crypto/hash.ts'
import { encode } from '../../src/codec/index.ts'
import type { DefaultAppState } from '../../src/config/genesis.ts'
import { TxEnvelopeSchema, txSignBytes } from '../../src/types/tx.ts'
import { BodySchema, type Body } from '../../state/schema.ts'
import { defaultAppState } from '../../state/genesis.ts'
import type { Prng } from '../helpers/prng.ts'

const COUNTY = '110101'
export const TOWNSHIPS = ['110101001', '110101002', '110101003', '110101004']

function keyOf (seed: number, name: string): Ed25519KeyPair {
  return keyPairFromSeed(sha256(new TextEncoder().encode(`aidledger-e2e-soak/${seed}/${name}`)))
}

export interface SoakOffices {
  appState: DefaultAppState
  townships: Array<{ region: string, key: Ed25519KeyPair }>
}

/** Civil affairs: ministry 1 → province 2 → city 3 → county 4 → townships 5.. (keys from `seed`). */
export function soakOffices (seed: number): SoakOffices {
  const hex = (k: Ed25519KeyPair): string => toHex(k.publicKey)
  const chain = [
    { id: 1, level: 'ministry', region: '000000', parentId: 0, name: 'mca' },
    { id: 2, level: 'province', region: '110000', parentId: 1, name: 'province' },
    { id: 3, level: 'city', region: '110100', parentId: 2, name: 'city' },
    { id: 4, level: 'county', region: COUNTY, parentId: 3, name: 'county' },
    ...TOWNSHIPS.map((region, i) => ({ id: 5 + i, level: 'township', region, parentId: 4, name: `town-${region}` })),
  ]
  const townships = TOWNSHIPS.map((region) => ({ region, key: keyOf(seed, `town-${region}`) }))
  const appState: DefaultAppState = (ctx) => {
    const base = defaultAppState({ operators: ctx.validators.map((v) => ({ operatorKey: v.pubKey, validatorPubKey: v.pubKey })) })
    return {
      ...base,
      offices: chain.map((o) => ({
        id: o.id, level: o.level, department: 'civil-affairs', region: o.region, pubKey: hex(keyOf(seed, o.name)), parentId: o.parentId, delegatedApproval: false,
      })),
    } as never
  }
  return { appState, townships }
}

export interface BuiltTx { bytes: Uint8Array, hash: string }

/** A household.register signed by a random township, expiring at `expiresAtHeight`. */
export function householdTx (o: { chainId: string, offices: SoakOffices, prng: Prng, nonce: number, expiresAtHeight: number }): BuiltTx {
  const town = o.prng.pick(o.offices.townships)
  const members = Array.from({ length: o.prng.range(1, 3) }, () => o.prng.bytes(32))
  const body: Body = {
    type: 'household.register',
    value: { householdId: o.prng.bytes(32), hukouRegion: town.region, residenceRegion: town.region, members, statutoryCheck: o.prng.bool() },
  }
  const env = { chainId: o.chainId, signer: town.key.publicKey, expiresAtHeight: o.expiresAtHeight, nonce: o.nonce, body: encode(BodySchema, body) }
  const signature = createSigner(town.key).sign(txSignBytes(env))
  const bytes = encode(TxEnvelopeSchema, { ...env, signature })
  return { bytes, hash: toHex(sha256(bytes)).toUpperCase() }
}
