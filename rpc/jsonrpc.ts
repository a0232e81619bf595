/**
 * JSON-RPC 2.0 envelopes and errors, after CometBFT rpc/jsonrpc/types/types.go: the error
 * codes and messages (-32700 "Parse error. Invalid JSON", -32600 "Invalid Request",
 * -32601 "Method not found", -32602 "Invalid params", -32603 "Internal error", -32000
 * "Server error") with the detail in `data`.
 *
 * Differences from CometBFT, all toward the JSON-RPC 2.0 spec: a response whose id could
 * not be determined carries `"id": null` (CometBFT omits the member); a request whose id
 * is neither string, number nor null, whose method is not a string, or that is not an
 * object at all gets -32600 instead of a parse error; an empty batch gets one -32600.
 * As CometBFT (and the spec), a request without an id (or with id null) is a notification
 * and gets no response.
 */

export type RpcId = string | number | null

export interface RpcErrorObject { code: number, message: string, data?: string }

export interface RpcResponse {
  jsonrpc: '2.0'
  id: RpcId
  result?: unknown
  error?: RpcErrorObject
}

export const RPC_PARSE_ERROR = -32700
export const RPC_INVALID_REQUEST = -32600
export const RPC_METHOD_NOT_FOUND = -32601
export const RPC_INVALID_PARAMS = -32602
export const RPC_INTERNAL_ERROR = -32603
export const RPC_SERVER_ERROR = -32000

const MESSAGES: Record<number, string> = {
  [RPC_PARSE_ERROR]: 'Parse error. Invalid JSON',
  [RPC_INVALID_REQUEST]: 'Invalid Request',
  [RPC_METHOD_NOT_FOUND]: 'Method not found',
  [RPC_INVALID_PARAMS]: 'Invalid params',
  [RPC_INTERNAL_ERROR]: 'Internal error',
  [RPC_SERVER_ERROR]: 'Server error',
}

/** An error with its JSON-RPC code; route handlers throw it (or any Error, which becomes -32603). */
export class RpcError extends Error {
  override name = 'RpcError'
  constructor (readonly code: number, readonly data: string) {
    super(data)
  }
}

/** A handler-level failure: -32603 with `data` = the message, as CometBFT's routes return errors. */
export const routeError = (data: string): RpcError => new RpcError(RPC_INTERNAL_ERROR, data)
export const serverError = (data: string): RpcError => new RpcError(RPC_SERVER_ERROR, data)

export function errorObject (code: number, data?: string): RpcErrorObject {
  const e: RpcErrorObject = { code, message: MESSAGES[code] ?? 'Server error' }
  if (data !== undefined && data !== '') e.data = data
  return e
}

export function errorResponse (id: RpcId, code: number, data?: string): RpcResponse {
  return { jsonrpc: '2.0', id, error: errorObject(code, data) }
}

export function successResponse (id: RpcId, result: unknown): RpcResponse {
  return { jsonrpc: '2.0', id, result }
}

export interface RpcRequest { id: RpcId, method: string, params: unknown }

export type CheckedRequest =
  | { kind: 'request', req: RpcRequest }
  | { kind: 'notification' }
  | { kind: 'invalid', response: RpcResponse }

const isId = (v: unknown): v is RpcId => v === null || typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v))

/** Classifies one decoded JSON value as a request, a notification or an invalid request. */
export function checkRequest (v: unknown): CheckedRequest {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    return { kind: 'invalid', response: errorResponse(null, RPC_INVALID_REQUEST, 'request must be a JSON object') }
  }
  const o = v as Record<string, unknown>
  const has = (k: string): boolean => Object.prototype.hasOwnProperty.call(o, k)
  const id = has('id') ? o.id : undefined
  if (id !== undefined && !isId(id)) {
    return { kind: 'invalid', response: errorResponse(null, RPC_INVALID_REQUEST, `json-rpc ID is of unknown type (${Array.isArray(id) ? 'array' : typeof id})`) }
  }
  if (id === undefined || id === null) return { kind: 'notification' }
  if (has('jsonrpc') && o.jsonrpc !== '2.0') {
    return { kind: 'invalid', response: errorResponse(id, RPC_INVALID_REQUEST, 'jsonrpc must be "2.0"') }
  }
  if (typeof o.method !== 'string') {
    return { kind: 'invalid', response: errorResponse(id, RPC_INVALID_REQUEST, 'method must be a string') }
  }
  return { kind: 'request', req: { id, method: o.method, params: has('params') ? o.params : undefined } }
}

/** The JSON text of a subscription event (built by concatenation: the data JSON is shared by all subscribers). */
export function eventResponseJson (id: RpcId, query: string, dataJson: string, eventsJson: string): string {
  return `{"jsonrpc":"2.0","id":${JSON.stringify(id)},"result":{"query":${JSON.stringify(query)},"data":${dataJson},"events":${eventsJson}}}`
}
