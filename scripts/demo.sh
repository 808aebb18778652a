#!/usr/bin/env bash
# The offline end-to-end demo: OKX simulator → record (Parquet, the embedded default) → replay (digest
# parity check) → a query of what was stored. Needs only Go and bash (no python, no curl); uses DuckDB for the
# query when installed (scripts/duckdb-install.sh), else okxtape's own stats strategy.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin}
DATA=${DATA:-demo-data}
SECS=${SECS:-10}
rm -rf "$DATA"; mkdir -p "$DATA"

# The simulator takes a free port (:0) and logs the address it got.
"$BIN/okxsim" --listen 127.0.0.1:0 --instruments 4 --rate 20 > "$DATA/okxsim.json" 2> "$DATA/okxsim.log" &
sim=$!
trap 'kill $sim 2>/dev/null || true' EXIT
addr=""
for _ in $(seq 100); do
  addr=$(sed -n 's|.*ws=ws://\([0-9.:]*\)/.*|\1|p' "$DATA/okxsim.log" | head -1)
  [ -n "$addr" ] && break
  kill -0 $sim 2>/dev/null || { cat "$DATA/okxsim.log" >&2; exit 1; }
  sleep 0.1
done
[ -n "$addr" ] || { echo "okxsim did not start" >&2; exit 1; }

# digest FILE prints the digest strategy's result from a summary line.
digest() { tail -1 "$1" | grep -o '"digest":{"digest":"[0-9a-f]*"' | grep -o '[0-9a-f]\{64\}'; }

echo "== record ${SECS}s from the simulator into $DATA (Parquet) with the digest strategy"
"$BIN/record" --ws-url "ws://$addr" --rest-url "http://$addr" \
  --channels tickers,trades,candle1m,books5,books --inst BTC-USDT,ETH-USDT --strategy digest,stats \
  --duration "${SECS}s" --out "$DATA" --log-level warn > "$DATA/record.json"
rec_digest=$(digest "$DATA/record.json")
echo "   live digest:   $rec_digest"

echo "== replay everything stored through the same engine and strategies"
"$BIN/replay" run --data "$DATA" --strategy digest,stats --log-level warn > "$DATA/replay.json"
rep_digest=$(digest "$DATA/replay.json")
echo "   replay digest: $rep_digest"
if [ "$rec_digest" != "$rep_digest" ]; then echo "PARITY FAILED"; exit 1; fi
echo "   parity: OK (same events, same order per stream)"

echo "== what was stored"
find "$DATA" -name '*.parquet' | sed 's|^|   |' | head -20
if [ -f scripts/duckdb/node_modules/@duckdb/node-api/package.json ]; then
  node scripts/duckdb/query.mjs "select inst_id, count(*) trades, round(sum(px*sz)/sum(sz), 4) vwap from read_parquet('$DATA/trades/*/*.parquet', hive_partitioning=1) group by 1 order by 1"
else
  # okxtape's stats strategy, from the replay summary: "INST N trades, vwap X" per instrument.
  tail -1 "$DATA/replay.json" | grep -o '"[A-Z0-9-]*":{"events":{[^}]*},"trades":[0-9]*,"volume":[^,]*,"vwap":[^,]*' |
    sed -E 's/"([^"]+)":\{"events":\{[^}]*\},"trades":([0-9]+),"volume":[^,]*,"vwap":(.*)/   \1 \2 trades, vwap \3/'
fi
