export { openBlockStore, type BlockStore, type BlockStoreOptions } from './block-store.ts'
export {
  openConsensusStateStore, DEFAULT_CHECKPOINT_INTERVAL,
  type ConsensusStateStore, type ConsensusStateStoreDeps, type ConsensusStateStoreOptions,
} from './state-store.ts'
export type { StoreDb, DbOptions } from './db.ts'
