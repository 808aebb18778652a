package e2e

import (
	"encoding/json"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/okxtape/okxtape/internal/testenv"
)

// duckdb runs SQL in DuckDB (scripts/duckdb, installed by scripts/duckdb-install.sh) and returns the rows.
func duckdb(t *testing.T, sql string) []map[string]any {
	t.Helper()
	out, err := exec.Command("node", testenv.DuckDBScript(t), sql).CombinedOutput()
	if err != nil {
		t.Fatalf("duckdb: %v\n%s", err, out)
	}
	var rows []map[string]any
	if err := json.Unmarshal(out, &rows); err != nil {
		t.Fatalf("duckdb output: %v\n%s", err, out)
	}
	return rows
}

// TestParquetReadsInDuckDB: the files are plain Parquet that another engine reads with the right types.
func TestParquetReadsInDuckDB(t *testing.T) {
	out := t.TempDir()
	s := startSim(t, "--instruments", "2", "--rate", "20")
	mflag, metrics := metricsFlag(t)
	rec := start(t, nil, "record", append([]string{"--ws-url", s.ws(), "--rest-url", s.rest(), "--channels", "tickers,trades,books",
		"--inst", "BTC-USDT,ETH-USDT", "--out", out, "--log-level", "warn"}, mflag...)...)
	s.waitSent(t, 30, "tickers", "trades", "books")
	sent := s.finish()
	waitDrained(t, metrics, sent)
	rec.stop(syscall.SIGTERM, 60*time.Second)

	rows := duckdb(t, "select count(*)::BIGINT as n, count(distinct inst_id)::BIGINT as insts, min(ts)::VARCHAR as t0, "+
		"typeof(any_value(ts)) as ts_type, typeof(any_value(recv_ns)) as recv_type, typeof(any_value(last)) as px_type "+
		"from read_parquet('"+out+"/tickers/*/*.parquet', hive_partitioning=1)")
	if len(rows) != 1 {
		t.Fatalf("rows %v", rows)
	}
	r := rows[0]
	if n, _ := r["n"].(float64); uint64(n) != sent.Items["tickers"] {
		if s, _ := r["n"].(string); s != itoa(int(sent.Items["tickers"])) {
			t.Errorf("DuckDB counts %v tickers, simulator sent %d", r["n"], sent.Items["tickers"])
		}
	}
	if !strings.HasPrefix(r["ts_type"].(string), "TIMESTAMP") || !strings.HasPrefix(r["recv_type"].(string), "TIMESTAMP") || r["px_type"] != "DOUBLE" {
		t.Errorf("types as DuckDB sees them: %v", r)
	}
	book := duckdb(t, "select typeof(any_value(bid_px)) as t, max(len(bid_px))::BIGINT as depth from read_parquet('"+out+"/books/*/*.parquet')")
	if book[0]["t"] != "DOUBLE[]" {
		t.Errorf("book level arrays as DuckDB sees them: %v", book)
	}
}
