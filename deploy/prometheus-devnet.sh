#!/usr/bin/env bash
# A real Prometheus (Debian's package) against a real local devnet, with the shipped scrape
# config and alert rules: shows the rules load, every node is scraped, and that killing one
# validator makes AidledgerMissingValidators fire. This is the operator's smoke test of
# deploy/ and the way to try the alerts by hand.
#
#   deploy/prometheus-devnet.sh [--base-port P] [--keep]
#
# --base-port P  devnet ports (default 26656, the ports deploy/prometheus/prometheus.yml
#                names; other bases get a rewritten copy of the config)
# --keep         leave the devnet home and Prometheus data in place (printed at the end)
#
# Needs promtool/prometheus (installed by deploy/check.sh when missing). Everything binds to
# 127.0.0.1; every process started here is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

BASE=26656
KEEP=0
while [ $# -gt 0 ]; do
  case "$1" in
    --base-port) BASE="$2"; shift 2 ;;
    --keep) KEEP=1; shift ;;
    *) echo "usage: $0 [--base-port P] [--keep]" >&2; exit 2 ;;
  esac
done

say () { printf '== %s\n' "$*"; }
command -v prometheus >/dev/null 2>&1 || bash deploy/check.sh >/dev/null
WORK=$(mktemp -d /tmp/aidledger-prom-XXXXXX)
PROM_PORT=$((BASE + 3))
DEVNET_PID=""
PROM_PID=""

cleanup () {
  [ -n "$PROM_PID" ] && kill "$PROM_PID" 2>/dev/null && wait "$PROM_PID" 2>/dev/null || true
  [ -n "$DEVNET_PID" ] && kill -INT "$DEVNET_PID" 2>/dev/null && wait "$DEVNET_PID" 2>/dev/null || true
  if [ "$KEEP" = 1 ]; then echo "kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

# The shipped config, with the devnet's metrics ports moved when --base-port is not the default.
mkdir -p "$WORK/prom"
cp deploy/prometheus/alerts.yml "$WORK/prom/alerts.yml"
sed -E "$(for i in 0 1 2 3; do printf 's/127\\.0\\.0\\.1:%d\\b/127.0.0.1:%d/;' $((26660 + 100 * i)) $((BASE + 4 + 100 * i)); done)" \
  deploy/prometheus/prometheus.yml > "$WORK/prom/prometheus.yml"
promtool check config "$WORK/prom/prometheus.yml" >/dev/null

say "starting a 4-validator devnet on base port $BASE"
node bin/aidledger.js devnet --home "$WORK/devnet" --base-port "$BASE" > "$WORK/devnet.out" 2>&1 &
DEVNET_PID=$!

say "starting prometheus on 127.0.0.1:$PROM_PORT"
prometheus --config.file="$WORK/prom/prometheus.yml" --storage.tsdb.path="$WORK/prom/data" \
  --web.listen-address="127.0.0.1:$PROM_PORT" > "$WORK/prometheus.log" 2>&1 &
PROM_PID=$!
API="http://127.0.0.1:$PROM_PORT/api/v1"

# wait_for SECONDS DESCRIPTION COMMAND...: polls COMMAND every 2 s until it succeeds.
wait_for () {
  local limit=$1 what=$2; shift 2
  local deadline=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    if [ $SECONDS -ge $deadline ]; then echo "FAIL: timed out after ${limit}s waiting for $what" >&2; tail -n 20 "$WORK/devnet.out" >&2; exit 1; fi
    sleep 2
  done
  say "ok: $what"
}

rules_loaded () { curl -sf "$API/rules" | python3 -c 'import json,sys; g=json.load(sys.stdin)["data"]["groups"]; n=sum(len(x["rules"]) for x in g); print(n); sys.exit(0 if n>0 else 1)'; }
targets_up () { curl -sf "$API/query?query=sum(up%7Bjob%3D%22aidledger%22%7D)" | python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; sys.exit(0 if r and float(r[0]["value"][1])==4 else 1)'; }
chain_moving () { curl -sf "$API/query?query=min(aidledger_consensus_latest_block_height)" | python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; sys.exit(0 if r and float(r[0]["value"][1])>=3 else 1)'; }
alert_firing () { curl -sf "$API/alerts" | python3 -c 'import json,sys; a=json.load(sys.stdin)["data"]["alerts"]; sys.exit(0 if any(x["labels"]["alertname"]==sys.argv[1] and x["state"]=="firing" for x in a) else 1)' "$1"; }
none_firing () { curl -sf "$API/alerts" | python3 -c 'import json,sys; a=[x["labels"]["alertname"] for x in json.load(sys.stdin)["data"]["alerts"] if x["state"]=="firing"]; print(a); sys.exit(0 if "AidledgerMissingValidators" not in a else 1)'; }

wait_for 60 "prometheus loaded the shipped alert rules" rules_loaded
wait_for 180 "all 4 nodes scraped (up == 1)" targets_up
wait_for 120 "the chain commits (latest_block_height >= 3 everywhere)" chain_moving
none_firing || { echo "FAIL: AidledgerMissingValidators fired before any validator was stopped" >&2; exit 1; }

VICTIM=$(pgrep -f -- "start --home $WORK/devnet/node3" | head -n 1)
[ -n "$VICTIM" ] || { echo "FAIL: node3 process not found" >&2; exit 1; }
say "kill -9 node3 (pid $VICTIM)"
kill -9 "$VICTIM"
wait_for 240 "AidledgerMissingValidators firing" alert_firing AidledgerMissingValidators
curl -sf "$API/alerts" | python3 -c 'import json,sys; [print("   ", x["state"], x["labels"]["alertname"], x["labels"].get("node",""), x["labels"].get("validator_address","")) for x in json.load(sys.stdin)["data"]["alerts"]]'
say "deploy/ works against a live devnet"
