#!/usr/bin/env bash
# The offline end-to-end demo: OKX simulator → record (Parquet, the embedded default) → replay (digest
# parity check) → a query of what was stored. Needs only Go; uses DuckDB for the query when installed
# (scripts/duckdb-install.sh), else okxtape's own stats strategy.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin}
DATA=${DATA:-demo-data}
SECS=${SECS:-10}
rm -rf "$DATA"; mkdir -p "$DATA"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 18443)
"$BIN/okxsim" --listen "127.0.0.1:$port" --instruments 4 --rate 20 > "$DATA/okxsim.json" 2> "$DATA/okxsim.log" &
sim=$!
trap 'kill $sim 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/stats" >/dev/null 2>&1 && break; sleep 0.1; done

echo "== record ${SECS}s from the simulator into $DATA (Parquet) with the digest strategy"
"$BIN/record" --ws-url "ws://127.0.0.1:$port" --rest-url "http://127.0.0.1:$port" \
  --channels tickers,trades,candle1m,books5,books --inst BTC-USDT,ETH-USDT --strategy digest,stats \
  --duration "${SECS}s" --out "$DATA" --log-level warn > "$DATA/record.json"
rec_digest=$(tail -1 "$DATA/record.json" | python3 -c 'import json,sys; print(json.load(sys.stdin)["strategies"]["digest"]["digest"])')
echo "   live digest:   $rec_digest"

echo "== replay everything stored through the same engine and strategies"
"$BIN/replay" run --data "$DATA" --strategy digest,stats --log-level warn > "$DATA/replay.json"
rep_digest=$(tail -1 "$DATA/replay.json" | python3 -c 'import json,sys; print(json.load(sys.stdin)["strategies"]["digest"]["digest"])')
echo "   replay digest: $rep_digest"
if [ "$rec_digest" != "$rep_digest" ]; then echo "PARITY FAILED"; exit 1; fi
echo "   parity: OK (same events, same order per stream)"

echo "== what was stored"
find "$DATA" -name '*.parquet' | sed 's|^|   |' | head -20
if [ -f scripts/duckdb/node_modules/@duckdb/node-api/package.json ]; then
  node scripts/duckdb/query.mjs "select inst_id, count(*) trades, round(sum(px*sz)/sum(sz), 4) vwap from read_parquet('$DATA/trades/*/*.parquet', hive_partitioning=1) group by 1 order by 1"
else
  tail -1 "$DATA/replay.json" | python3 -c 'import json,sys; s=json.load(sys.stdin)["strategies"]["stats"]; [print("  ", k, v["trades"], "trades, vwap", round(v["vwap"],4)) for k,v in sorted(s["instruments"].items())]'
fi
