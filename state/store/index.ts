/**
 * The authenticated state store (DESIGN §6): a versioned Jellyfish-style Merkle map on
 * LevelDB. `openStateStore` is the factory; `verifyProof` is the pure client-side check.
 */
export {
  openStateStore,
  type StateStore, type StateStoreOptions, type StoreDb, type StateProof, type Entry,
  type IterateOptions, type StoreStats,
} from './store.ts'
export { type StoreBatch } from './types.ts'
export {
  verifyProof, encodeProof, decodeProof, keyHashOf, valueHashOf, leafHash, internalHash,
  EMPTY_ROOT, SmtProofSchema, type SmtProof, type SmtProofLevel,
} from './verify.ts'
