/**
 * Metric handles: the narrow gauge / counter / histogram interfaces the node calls, built
 * either over prom-client (on one Registry, never the global one) or as no-ops, from the
 * table in ./defs.ts. Handles never throw: a non-finite value, or a negative counter
 * increment, is dropped (prom-client would throw, and metrics must not stop consensus).
 *
 * Labelled handles check every label value (./defs.ts `labelKind`) and cap the number of
 * distinct series per metric; series past the cap are dropped with one warning per metric.
 */
import { Counter as PromCounter, Gauge as PromGauge, Histogram as PromHistogram, type Registry } from 'prom-client'
import type { Logger } from '../log.ts'
import { labelKind, type MetricDef, type MetricDefs, METRIC_DEFS, type Subsystem, SUBSYSTEMS } from './defs.ts'

export type Labels<L extends string> = { readonly [K in L]: string | number }

export interface Gauge {
  set: (value: number) => void
  inc: (value?: number) => void
  dec: (value?: number) => void
}

export interface Counter {
  inc: (value?: number) => void
}

export interface Histogram {
  observe: (value: number) => void
}

export interface LabeledGauge<L extends string> {
  set: (labels: Labels<L>, value: number) => void
  inc: (labels: Labels<L>, value?: number) => void
  /** Drops the series (e.g. a validator that left the set). */
  remove: (labels: Labels<L>) => void
}

export interface LabeledCounter<L extends string> {
  inc: (labels: Labels<L>, value?: number) => void
  remove: (labels: Labels<L>) => void
}

export interface LabeledHistogram<L extends string> {
  observe: (labels: Labels<L>, value: number) => void
  remove: (labels: Labels<L>) => void
}

type LabelsOf<D> = D extends { labels: readonly (infer L)[] } ? L & string : never
type Unlabeled<D> = [LabelsOf<D>] extends [never] ? true : false

export type HandleOf<D> =
  D extends { type: 'gauge' } ? (Unlabeled<D> extends true ? Gauge : LabeledGauge<LabelsOf<D>>)
    : D extends { type: 'counter' } ? (Unlabeled<D> extends true ? Counter : LabeledCounter<LabelsOf<D>>)
      : D extends { type: 'histogram' } ? (Unlabeled<D> extends true ? Histogram : LabeledHistogram<LabelsOf<D>>)
        : never

/** `metrics.consensus.height`, `metrics.p2p.peerSendBytesTotal`, … typed from the table. */
export type MetricHandles = {
  readonly [S in Subsystem]: { readonly [K in keyof MetricDefs[S]]: HandleOf<MetricDefs[S][K]> }
}

// ---- label values ------------------------------------------------------------------------

const ID_VALUE = /^[A-Za-z0-9]{1,128}$/
const ENUM_VALUE = /^[A-Za-z0-9_.:-]{1,64}$/
const LOOKS_LIKE_ID = /[0-9a-fA-F]{16,}/

/** The value a label gets: itself, or "invalid" / "redacted" (see ./defs.ts LabelKind). */
export function labelValue (label: string, value: string | number): string {
  const s = typeof value === 'number' ? String(value) : value
  if (labelKind(label) === 'id') return ID_VALUE.test(s) ? s : 'invalid'
  if (LOOKS_LIKE_ID.test(s)) return 'redacted'
  return ENUM_VALUE.test(s) ? s : 'invalid'
}

// ---- building ----------------------------------------------------------------------------

export interface HandleOptions {
  namespace: string
  maxSeriesPerMetric: number
  logger: Logger
}

const okValue = (v: number): boolean => typeof v === 'number' && Number.isFinite(v)
const okInc = (v: number): boolean => okValue(v) && v >= 0

type AnyProm = PromGauge<string> | PromCounter<string> | PromHistogram<string>

function promMetric (def: MetricDef, fullName: string, registry: Registry): AnyProm {
  const common = { name: fullName, help: def.help, labelNames: [...(def.labels ?? [])], registers: [registry] }
  if (def.type === 'gauge') return new PromGauge(common)
  if (def.type === 'counter') return new PromCounter(common)
  return new PromHistogram({ ...common, buckets: [...(def.buckets ?? [])] })
}

/** Series bookkeeping for one labelled metric: sanitised labels, and the cap. */
function seriesGuard (def: MetricDef, fullName: string, o: HandleOptions): {
  admit: (labels: Labels<string>) => Record<string, string> | null
  forget: (labels: Labels<string>) => Record<string, string>
} {
  const names = def.labels ?? []
  const seen = new Set<string>()
  let warned = false
  const clean = (labels: Labels<string>): { out: Record<string, string>, key: string } => {
    const out: Record<string, string> = {}
    for (const n of names) out[n] = labelValue(n, labels[n] ?? '')
    return { out, key: names.map((n) => out[n]).join('\u0000') }
  }
  return {
    admit: (labels) => {
      const { out, key } = clean(labels)
      if (seen.has(key)) return out
      if (seen.size >= o.maxSeriesPerMetric) {
        if (!warned) {
          warned = true
          o.logger.warn('metric series cap reached; new label values are dropped', { metric: fullName, max: o.maxSeriesPerMetric })
        }
        return null
      }
      seen.add(key)
      return out
    },
    forget: (labels) => {
      const { out, key } = clean(labels)
      seen.delete(key)
      return out
    },
  }
}

function promHandle (def: MetricDef, fullName: string, registry: Registry, o: HandleOptions): unknown {
  const m = promMetric(def, fullName, registry)
  if (def.labels === undefined || def.labels.length === 0) {
    if (m instanceof PromGauge) {
      return {
        set: (v: number) => { if (okValue(v)) m.set(v) },
        inc: (v = 1) => { if (okValue(v)) m.inc(v) },
        dec: (v = 1) => { if (okValue(v)) m.dec(v) },
      } satisfies Gauge
    }
    if (m instanceof PromCounter) return { inc: (v = 1) => { if (okInc(v)) m.inc(v) } } satisfies Counter
    return { observe: (v: number) => { if (okValue(v)) m.observe(v) } } satisfies Histogram
  }
  const guard = seriesGuard(def, fullName, o)
  const remove = (labels: Labels<string>): void => { m.remove(guard.forget(labels)) }
  if (m instanceof PromGauge) {
    return {
      set: (labels, v) => { if (!okValue(v)) return; const l = guard.admit(labels); if (l !== null) m.set(l, v) },
      inc: (labels, v = 1) => { if (!okValue(v)) return; const l = guard.admit(labels); if (l !== null) m.inc(l, v) },
      remove,
    } satisfies LabeledGauge<string>
  }
  if (m instanceof PromCounter) {
    return {
      inc: (labels, v = 1) => { if (!okInc(v)) return; const l = guard.admit(labels); if (l !== null) m.inc(l, v) },
      remove,
    } satisfies LabeledCounter<string>
  }
  return {
    observe: (labels, v) => { if (!okValue(v)) return; const l = guard.admit(labels); if (l !== null) m.observe(l, v) },
    remove,
  } satisfies LabeledHistogram<string>
}

const noop = (): void => {}

function noopHandle (def: MetricDef): unknown {
  const labeled = def.labels !== undefined && def.labels.length > 0
  if (def.type === 'gauge') return labeled ? { set: noop, inc: noop, remove: noop } : { set: noop, inc: noop, dec: noop }
  if (def.type === 'counter') return labeled ? { inc: noop, remove: noop } : { inc: noop }
  return labeled ? { observe: noop, remove: noop } : { observe: noop }
}

/** The typed handles of every table entry: prom-client on `registry`, or no-ops without one. */
export function buildHandles (registry: Registry | null, o: HandleOptions): MetricHandles {
  const out: Record<string, Record<string, unknown>> = {}
  for (const s of SUBSYSTEMS) {
    const group: Record<string, unknown> = {}
    for (const [key, def] of Object.entries(METRIC_DEFS[s]) as Array<[string, MetricDef]>) {
      group[key] = registry === null ? noopHandle(def) : promHandle(def, `${o.namespace}_${def.name}`, registry, o)
    }
    out[s] = Object.freeze(group)
  }
  return Object.freeze(out) as unknown as MetricHandles
}
