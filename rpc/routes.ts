/**
 * The route table and the call dispatcher, after CometBFT rpc/core/routes.go (GetRoutes)
 * and rpc/jsonrpc/server's handlers: method lookup (WebSocket-only routes are "Method not
 * found" over HTTP), argument decoding (-32602 "Invalid params", data prefixed "error
 * converting json params to arguments: " or "… http params …" as CometBFT), the handler
 * call (its errors -32603 "Internal error" with the error text as data, as CometBFT), and
 * a last-resort catch so that no handler exception escapes as anything but a response.
 */
import type { Logger } from '../src/log.ts'
import { isAidError } from '../src/errors.ts'
import type { Json } from './encode.ts'
import type { CallContext, Route, RouteEnv } from './env.ts'
import {
  errorResponse, RPC_INTERNAL_ERROR, RPC_INVALID_PARAMS, RPC_METHOD_NOT_FOUND, RpcError, successResponse,
  type RpcId, type RpcResponse,
} from './jsonrpc.ts'
import { isParamError, jsonParams, uriParams, type Args } from './params.ts'
import { chainRoutes } from './routes-chain.ts'
import { txRoutes } from './routes-tx.ts'

/** Every route, by CometBFT method name (no unsafe routes). */
export const ROUTES: Readonly<Record<string, Route>> = Object.freeze({ ...chainRoutes, ...txRoutes })

export const ROUTE_NAMES: readonly string[] = Object.keys(ROUTES).sort()

export function lookupRoute (method: string, transport: CallContext['transport']): Route | undefined {
  if (!Object.prototype.hasOwnProperty.call(ROUTES, method)) return undefined
  const r = ROUTES[method]
  if (r === undefined || (r.ws === true && transport !== 'ws')) return undefined
  return r
}

async function run (env: RouteEnv, route: Route, method: string, args: Args, ctx: CallContext, logger: Logger): Promise<RpcResponse> {
  try {
    const result: Json = await route.handler(env, args, ctx)
    return successResponse(ctx.id, result)
  } catch (err) {
    return errorToResponse(ctx.id, err, method, logger)
  }
}

export function errorToResponse (id: RpcId, err: unknown, method: string, logger: Logger): RpcResponse {
  if (err instanceof RpcError) return errorResponse(id, err.code, err.data)
  if (isParamError(err)) return errorResponse(id, RPC_INVALID_PARAMS, err.message)
  if (isAidError(err)) {
    logger.warn('rpc handler failed', { method, err })
    return errorResponse(id, RPC_INTERNAL_ERROR, err.message)
  }
  logger.error('rpc handler threw', { method, err: err instanceof Error ? { message: err.message, stack: err.stack } : String(err) })
  return errorResponse(id, RPC_INTERNAL_ERROR, err instanceof Error ? err.message : String(err))
}

/** A JSON-RPC call (HTTP POST body element or WebSocket message). */
export async function callJson (env: RouteEnv, method: string, params: unknown, ctx: CallContext): Promise<RpcResponse> {
  const route = lookupRoute(method, ctx.transport)
  if (route === undefined) return errorResponse(ctx.id, RPC_METHOD_NOT_FOUND)
  let args: Args
  try {
    args = jsonParams(route.args, params)
  } catch (err) {
    if (isParamError(err)) return errorResponse(ctx.id, RPC_INVALID_PARAMS, `error converting json params to arguments: ${err.message}`)
    return errorToResponse(ctx.id, err, method, env.logger)
  }
  return run(env, route, method, args, ctx, env.logger)
}

/** A URI call (GET /method?arg=value); `undefined` when the route does not exist over HTTP. */
export async function callUri (env: RouteEnv, method: string, search: URLSearchParams, ctx: CallContext): Promise<RpcResponse | undefined> {
  const route = lookupRoute(method, ctx.transport)
  if (route === undefined) return undefined
  let args: Args
  try {
    args = uriParams(route.args, search)
  } catch (err) {
    if (isParamError(err)) return errorResponse(ctx.id, RPC_INVALID_PARAMS, `error converting http params to arguments: ${err.message}`)
    return errorToResponse(ctx.id, err, method, env.logger)
  }
  return run(env, route, method, args, ctx, env.logger)
}

/** CometBFT's writeListOfEndpoints: the HTML index served at GET /. */
export function endpointsHtml (host: string): string {
  const noArgs = ROUTE_NAMES.filter((n) => ROUTES[n]?.ws !== true && (ROUTES[n]?.args.length ?? 0) === 0)
  const withArgs = ROUTE_NAMES.filter((n) => ROUTES[n]?.ws !== true && (ROUTES[n]?.args.length ?? 0) > 0)
  const esc = (s: string): string => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`)
  let html = '<html><body><br>Available endpoints:<br>'
  for (const n of noArgs) html += `<a href="//${esc(host)}/${n}">//${esc(host)}/${n}</a></br>`
  html += '<br>Endpoints that require arguments:<br>'
  for (const n of withArgs) {
    const link = `//${esc(host)}/${n}?` + (ROUTES[n]?.args ?? []).map((a) => `${a.name}=_`).join('&')
    html += `<a href="${link}">${link}</a></br>`
  }
  return html + '</body></html>'
}
