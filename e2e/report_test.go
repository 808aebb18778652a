package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	chgo "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/okxtape/okxtape/internal/browsertest"
	"github.com/okxtape/okxtape/report"
	"github.com/okxtape/okxtape/schema"
)

// reportScreenshot is the README's picture of a report; OKXTAPE_UPDATE_SCREENSHOT=1 rewrites it.
const reportScreenshot = "../docs/report.png"

// TestReportAfterOutages: a 14 s recording against a simulator that drops every connection every 4 s. The
// report lists at least as many gaps as record counted reconnects, its event counts equal the stored rows per
// dataset and instrument as DuckDB counts them (and as the ClickHouse copy yields them), and its HTML renders
// in headless Chromium with both instruments, charts, no script error and no load from anywhere.
func TestReportAfterOutages(t *testing.T) {
	browsertest.Chromium(t)
	out := t.TempDir()
	s := startSim(t, "--instruments", "2", "--rate", "20", "--drop-every", "4s")
	args := []string{"--ws-url", s.ws(), "--rest-url", s.rest(), "--channels", "tickers,trades,books,candle1m",
		"--inst", "BTC-USDT,ETH-USDT", "--out", out, "--duration", "14s", "--flush-interval", "200ms", "--log-level", "warn"}
	chDSN := reportClickHouse(t)
	if chDSN != "" {
		args = append(args, "--clickhouse", chDSN)
	}
	rec := start(t, nil, "record", args...)
	rec.wait(90 * time.Second)
	if rec.exitCode() != 0 {
		t.Fatalf("record exit %d", rec.exitCode())
	}
	var live summary
	rec.lastJSON(&live)
	reconnects, _ := live.path("ingest", "reconnects").(float64)
	if reconnects < 2 {
		t.Fatalf("the simulator's drops caused %v reconnects, want several", reconnects)
	}

	page, jsonPath := filepath.Join(t.TempDir(), "report.html"), filepath.Join(t.TempDir(), "report.json")
	rep := start(t, nil, "replay", "report", "--data", out, "--out", page, "--json", jsonPath, "--log-level", "warn")
	rep.wait(2 * time.Minute)
	if rep.exitCode() != 0 {
		t.Fatalf("replay report exit %d", rep.exitCode())
	}
	if !strings.Contains(rep.stdout.String(), "with gaps") {
		t.Errorf("no text summary on stdout:\n%s", rep.stdout.String())
	}
	r := readReport(t, jsonPath)
	if len(r.Gaps) < int(reconnects) || r.GapCounts[schema.GapDisconnect] < uint64(reconnects) {
		t.Errorf("report lists %d gaps (%v), record counted %v reconnects", len(r.Gaps), r.GapCounts, reconnects)
	}
	for _, v := range r.Verdicts {
		if v.Verdict != report.HasGaps || v.CoverageRatio >= 1 || v.CoverageRatio < 0.9 {
			t.Errorf("verdict %+v: want gaps with most of the range covered", v)
		}
	}
	if len(r.Verdicts) != 8 || len(r.Sessions) != 1 || !r.Sessions[0].Clean || len(r.Latency) == 0 || len(r.Books) != 2 {
		t.Errorf("report: %d verdicts, sessions %+v, %d latency rows, %d book rows", len(r.Verdicts), r.Sessions, len(r.Latency), len(r.Books))
	}

	want := duckdbCounts(t, out)
	got := coverageCounts(r)
	if len(want) == 0 {
		t.Fatal("DuckDB counted nothing")
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%s %q: report counts %d events, DuckDB %d rows", k[0], k[1], got[k], n)
		}
	}
	for k, n := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s %q: report counts %d events that DuckDB does not see", k[0], k[1], n)
		}
	}

	if chDSN != "" {
		chJSON := filepath.Join(t.TempDir(), "ch.json")
		chRep := start(t, nil, "replay", "report", "--clickhouse", chDSN, "--out", "-", "--json", chJSON, "--log-level", "warn")
		chRep.wait(2 * time.Minute)
		if chRep.exitCode() != 0 {
			t.Fatalf("replay report --clickhouse exit %d", chRep.exitCode())
		}
		chGot := coverageCounts(readReport(t, chJSON))
		for k, n := range want {
			if chGot[k] != n {
				t.Errorf("ClickHouse %s %q: report counts %d, the Parquet store holds %d", k[0], k[1], chGot[k], n)
			}
		}
	}

	browsertest.CheckReport(t, page, "BTC-USDT", "ETH-USDT")
	shot := filepath.Join(t.TempDir(), "report.png")
	browsertest.Screenshot(t, page, shot)
	if st, _ := os.Stat(shot); st.Size() > 512<<10 {
		t.Errorf("screenshot is %d bytes, want well under 512 KB", st.Size())
	}
	if os.Getenv("OKXTAPE_UPDATE_SCREENSHOT") == "1" {
		copyFile(t, shot, reportScreenshot)
	}
}

func readReport(t *testing.T, path string) *report.Report {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r report.Report
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return &r
}

// coverageCounts sums the report's coverage rows per (dataset, instrument).
func coverageCounts(r *report.Report) map[[2]string]uint64 {
	out := map[[2]string]uint64{}
	for _, c := range r.Coverage {
		out[[2]string{c.Dataset, c.InstID}] += c.Events
	}
	return out
}

// duckdbCounts counts the stored rows of every dataset (schema.Tables) per instrument with DuckDB.
func duckdbCounts(t *testing.T, dir string) map[[2]string]uint64 {
	t.Helper()
	var q []string
	for _, tb := range schema.Tables() {
		if m, _ := filepath.Glob(filepath.Join(dir, tb.Name, "*", "*.parquet")); len(m) > 0 {
			q = append(q, fmt.Sprintf("select '%s' as ds, inst_id, count(*)::BIGINT as n from read_parquet('%s/%s/*/*.parquet') group by inst_id",
				tb.Name, dir, tb.Name))
		}
	}
	out := map[[2]string]uint64{}
	for _, row := range duckdb(t, strings.Join(q, " union all ")) {
		var n uint64
		switch v := row["n"].(type) {
		case float64:
			n = uint64(v)
		case string:
			n, _ = strconv.ParseUint(v, 10, 64)
		}
		inst, _ := row["inst_id"].(string)
		out[[2]string{row["ds"].(string), inst}] = n
	}
	return out
}

// reportClickHouse returns a DSN for a fresh database on the shared test server (dropped at the end), or ""
// when there is none and it is not required.
func reportClickHouse(t *testing.T) string {
	t.Helper()
	base := os.Getenv("OKXTAPE_TEST_CLICKHOUSE")
	if base == "" {
		base = "clickhouse://127.0.0.1:9000"
	}
	opts, err := chgo.ParseDSN(base)
	if err != nil {
		t.Fatalf("OKXTAPE_TEST_CLICKHOUSE: %v", err)
	}
	conn, err := chgo.Open(opts)
	if err == nil {
		err = conn.Ping(context.Background())
	}
	if err != nil {
		if os.Getenv("OKXTAPE_REQUIRE_CLICKHOUSE") == "1" {
			t.Fatalf("ClickHouse is required (OKXTAPE_REQUIRE_CLICKHOUSE=1): %v", err)
		}
		t.Logf("no ClickHouse (%v): checking the Parquet store only", err)
		return ""
	}
	db := fmt.Sprintf("okxtape_report_%d", time.Now().UnixNano())
	t.Cleanup(func() {
		conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+db)
		conn.Close()
	})
	return strings.TrimRight(base, "/") + "/" + db
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	o, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(o, in); err != nil {
		t.Fatal(err)
	}
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
}
