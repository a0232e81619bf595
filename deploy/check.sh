#!/usr/bin/env bash
# Validate everything under deploy/ with the real tools:
#   - Prometheus scrape config and alert rules: promtool check config / check rules
#   - alert rule unit tests: promtool test rules deploy/prometheus/alerts.test.yml
#   - Grafana dashboard: valid JSON, and every PromQL expression parses (promtool)
#   - systemd unit: systemd-analyze verify, when systemd-analyze exists
# Installs Debian's `prometheus` package (which ships promtool) when promtool is missing,
# with apt-get (as root, or through sudo -n); set AIDLEDGER_NO_INSTALL=1 to only check.
# Exit status 0 when everything passes. Run from anywhere: deploy/check.sh
set -euo pipefail
cd "$(dirname "$0")/.."

say () { printf '== %s\n' "$*"; }
fail () { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

if ! command -v promtool >/dev/null 2>&1; then
  [ "${AIDLEDGER_NO_INSTALL:-}" = "1" ] && fail "promtool not found (AIDLEDGER_NO_INSTALL=1)"
  command -v apt-get >/dev/null 2>&1 || fail "promtool not found and apt-get unavailable: install Prometheus's promtool"
  if [ "$(id -u)" = "0" ]; then SUDO=""; elif sudo -n true 2>/dev/null; then SUDO="sudo -n"; else fail "promtool not found; need root or passwordless sudo to apt-get install prometheus"; fi
  say "installing prometheus (for promtool) with apt-get"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  # Debian's package may start a Prometheus server; checks need only promtool.
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then $SUDO systemctl disable --now prometheus >/dev/null 2>&1 || true; fi
fi
say "$(promtool --version 2>&1 | head -n 1)"

say "promtool check config deploy/prometheus/prometheus.yml"
promtool check config deploy/prometheus/prometheus.yml

say "promtool check rules deploy/prometheus/alerts.yml"
promtool check rules deploy/prometheus/alerts.yml

say "promtool test rules deploy/prometheus/alerts.test.yml"
(cd deploy/prometheus && promtool test rules alerts.test.yml)

say "grafana dashboard: JSON and PromQL of every panel"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
node -e '
  const fs = require("fs")
  const d = JSON.parse(fs.readFileSync("deploy/grafana/aidledger.json", "utf8"))
  const exprs = []
  const walk = (ps) => { for (const p of ps ?? []) { for (const t of p.targets ?? []) if (t.expr) exprs.push(t.expr); walk(p.panels) } }
  walk(d.panels)
  if (exprs.length === 0) { console.error("no PromQL expressions found"); process.exit(1) }
  // Grafana variables become plain values, so promtool can parse the expressions.
  const sub = (e) => e.replaceAll("$__rate_interval", "1m").replaceAll("$chain_id", "x").replaceAll("$instance", ".*")
  const lines = ["groups:", "  - name: dashboard", "    rules:"]
  exprs.forEach((e, i) => lines.push(`      - record: dashboard:expr_${i}`, `        expr: ${JSON.stringify(sub(e))}`))
  fs.writeFileSync(process.argv[1], lines.join("\n") + "\n")
  console.log(`${exprs.length} expressions`)
' "$tmp/dashboard-rules.yml"
promtool check rules "$tmp/dashboard-rules.yml"

if command -v systemd-analyze >/dev/null 2>&1; then
  say "systemd-analyze verify deploy/systemd/aidledger.service"
  # verify exits 0 on unknown keys; treat any complaint about the unit's syntax as failure
  # (a missing /usr/bin/node or /opt/aidledger on this machine is not one).
  out="$(systemd-analyze verify deploy/systemd/aidledger.service 2>&1 || true)"
  bad="$(printf '%s\n' "$out" | grep -Ei 'unknown|invalid|failed to parse|bad|syntax' | grep -Evi 'not executable|no such file' || true)"
  [ -n "$out" ] && printf '%s\n' "$out"
  [ -z "$bad" ] || fail "systemd unit: $bad"
else
  say "systemd-analyze not found: unit file not verified"
fi

say "deploy/ OK"
