/**
 * The JSON-RPC server and its parts (CometBFT rpc/, libs/pubsub, state/txindex): the
 * server factory, the indexer, the event query language, the CometBFT JSON encoders and
 * the event bus. The node assembly implements src/node-api.ts NodeBackend and wires
 * `openIndexer` + `createRpcServer`.
 */
export { createRpcServer, type RpcServer, type RpcServerDeps, type RpcServerOptions } from './server.ts'
export { openIndexer, type Indexer, type IndexerOptions, type IndexDb, type TxKey } from './indexer.ts'
export { parseQuery, flattenEvents, MAX_QUERY_LENGTH, type Query, type Condition } from './query.ts'
export { createEventBus, busMessagesFor, type EventBus, type BusMessage } from './events.ts'
export { ROUTES, ROUTE_NAMES } from './routes.ts'
export type { CorsOptions, RateLimitOptions, HttpOut } from './http.ts'
export type { RpcId, RpcResponse, RpcErrorObject } from './jsonrpc.ts'
