/**
 * Loading the shipped deploy/ files for tests. YAML goes through the `yaml` package when it
 * is installed (it comes with tap, not as a dependency of ours); without it, `alertRules`
 * falls back to a line scanner that knows the shape of a Prometheus rules file, and the
 * tests that need full YAML skip.
 */
import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const DEPLOY = join(ROOT, 'deploy')

export async function readDeploy (rel: string): Promise<string> {
  return await readFile(join(DEPLOY, rel), 'utf8')
}

type YamlParse = (text: string) => unknown
let yamlParse: YamlParse | null | undefined

/** The `yaml` package's parse, or null when it is not installed. */
export async function yamlParser (): Promise<YamlParse | null> {
  if (yamlParse === undefined) {
    try {
      const mod = await import('yaml') as { parse: YamlParse }
      yamlParse = (text) => mod.parse(text)
    } catch {
      yamlParse = null
    }
  }
  return yamlParse
}

export interface Rule { kind: 'alert' | 'record', name: string, expr: string, for?: string }

/** Rules of a Prometheus rules file, by scanning lines (no YAML library needed). */
export function scanRules (text: string): Rule[] {
  const rules: Rule[] = []
  const lines = text.split('\n')
  let cur: Rule | undefined
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!
    const head = /^\s*- (alert|record):\s*(\S+)\s*$/.exec(line)
    if (head !== null) {
      cur = { kind: head[1] as Rule['kind'], name: unquote(head[2]!), expr: '' }
      rules.push(cur)
      continue
    }
    if (cur === undefined) continue
    const f = /^(\s*)for:\s*(\S+)\s*$/.exec(line)
    if (f !== null) cur.for = unquote(f[2]!)
    const e = /^(\s*)expr:\s*(.*)$/.exec(line)
    if (e === null) continue
    const indent = e[1]!.length
    const value = e[2]!.trim()
    if (/^[|>][-+]?$/.test(value)) {
      const body: string[] = []
      while (i + 1 < lines.length) {
        const next = lines[i + 1]!
        if (next.trim() !== '' && (next.length - next.trimStart().length) <= indent) break
        body.push(next.trim())
        i++
      }
      cur.expr = body.join(value.startsWith('>') ? ' ' : '\n').trim()
    } else {
      cur.expr = unquote(value)
    }
  }
  return rules
}

function unquote (s: string): string {
  if (s.startsWith('"') && s.endsWith('"')) return JSON.parse(s) as string
  if (s.startsWith('\'') && s.endsWith('\'')) return s.slice(1, -1).replaceAll('\'\'', '\'')
  return s
}

/** Rules of a rules file: through the `yaml` package when present, else `scanRules`. */
export async function alertRules (text: string): Promise<Rule[]> {
  const parse = await yamlParser()
  if (parse === null) return scanRules(text)
  const doc = parse(text) as { groups: Array<{ rules: Array<{ alert?: string, record?: string, expr: string, for?: string }> }> }
  return doc.groups.flatMap((g) => g.rules.map((r) => ({
    kind: r.alert !== undefined ? 'alert' as const : 'record' as const,
    name: r.alert ?? r.record ?? '',
    expr: String(r.expr).trim(),
    ...(r.for !== undefined ? { for: r.for } : {}),
  })))
}

export interface CommandResult { code: number, stdout: string, stderr: string }

export function run (cmd: string, args: readonly string[], cwd = ROOT, env: NodeJS.ProcessEnv = process.env): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, env, timeout: 120_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1
      resolve({ code, stdout, stderr })
    })
  })
}

let promtoolPath: string | null | undefined

/** promtool's path, or null when it is not installed (tests then skip). */
export async function promtool (): Promise<string | null> {
  if (promtoolPath === undefined) {
    const r = await run('sh', ['-c', 'command -v promtool'])
    promtoolPath = r.code === 0 && r.stdout.trim() !== '' ? r.stdout.trim() : null
  }
  return promtoolPath
}

export const NO_PROMTOOL = 'promtool not installed (deploy/check.sh installs it with apt-get)'
