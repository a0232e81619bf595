/**
 * Adapts the disk-backed authenticated store (state/store/, a Jellyfish-style Merkle map
 * on LevelDB) to the narrow AppStore view the application uses: proofs travel as their
 * canonical bytes (SmtProofSchema), which `verifyStoreProof` checks against an app_hash.
 */
import { openStateStore, verifyProof, type StateStore, type StateStoreOptions } from './store/index.ts'
import type { AppStore, ProofVerifier } from './store-api.ts'

export function appStoreFrom (s: StateStore): AppStore & { readonly inner: StateStore } {
  return {
    inner: s,
    version: () => s.version(),
    rootHash: async (v?: number) => await s.rootHash(v),
    get: async (k) => await s.get(k),
    getAt: async (k, v) => await s.getAt(k, v),
    set: (k, v) => s.set(k, v),
    delete: (k) => s.delete(k),
    prepare: async () => await s.prepare(),
    commit: async () => await s.commit(),
    discard: () => s.discard(),
    prove: async (k, v) => (await s.prove(k, v)).proofBytes,
    iterate: async (prefix, o) => await s.iterate(prefix, { ...o, pending: o.pending ?? true }),
    close: async () => await s.close(),
  }
}

export async function openAppStore (opts: StateStoreOptions): Promise<AppStore & { readonly inner: StateStore }> {
  return appStoreFrom(await openStateStore(opts))
}

/** The proof check matching `appStoreFrom` stores (proofOp.data = SmtProof bytes). */
export const verifyStoreProof: ProofVerifier = (root, key, value, proof) => verifyProof(root, key, value, proof)
