package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	chgo "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/okxtape/okxtape/internal/browsertest"
	"github.com/okxtape/okxtape/internal/testenv"
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
	out := t.TempDir()
	s := startSim(t, "--instruments", "2", "--rate", "20", "--drop-every", "4s")
	args := []string{"--ws-url", s.ws(), "--rest-url", s.rest(), "--channels", "tickers,trades,books,candle1m",
		"--inst", "BTC-USDT,ETH-USDT", "--out", out, "--duration", "14s", "--flush-interval", "200ms", "--log-level", "warn"}
	chDSN := reportClickHouse(t)
	if chDSN != "" {
		args = append(args, "--clickhouse", chDSN)
	}
	metrics := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	args = append(args, "--metrics-addr", metrics)
	rec := start(t, nil, "record", args...)
	checkLiveMetrics(t, metrics)
	rec.wait(90 * time.Second)
	live := rec.result(0)
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
		// ClickHouse keeps each event key once (FINAL): a candle the exchange re-sends unchanged on a resubscribe
		// is one row there, two in Parquet.
		chGot, distinct := coverageCounts(readReport(t, chJSON)), distinctKeyCounts(t, out)
		for k, n := range distinct {
			if chGot[k] != n {
				t.Errorf("ClickHouse %s %q: report counts %d, the Parquet store holds %d distinct events", k[0], k[1], chGot[k], n)
			}
		}
	}

	t.Run("chromium", func(t *testing.T) {
		browsertest.CheckReport(t, page, "BTC-USDT", "ETH-USDT")
		shot := filepath.Join(t.TempDir(), "report.png")
		browsertest.Screenshot(t, page, shot)
		if st, _ := os.Stat(shot); st.Size() > 512<<10 {
			t.Errorf("screenshot is %d bytes, want well under 512 KB", st.Size())
		}
		if os.Getenv("OKXTAPE_UPDATE_SCREENSHOT") == "1" {
			copyFile(t, shot, reportScreenshot)
		}
	})
}

// checkLiveMetrics scrapes record's /metrics while it runs: the error and reconnect counters exist from the
// first scrape (at 0 until the first outage), and after the first drop the gap counter, the last-gap time
// and a coverage ratio below 1 show it.
func checkLiveMetrics(t *testing.T, addr string) {
	t.Helper()
	first := scrapeUntil(t, addr, func(string) bool { return true })
	for _, series := range []string{`okxtape_reconnects_total{endpoint="public"}`, `okxtape_reconnects_total{endpoint="business"}`,
		`okxtape_decode_errors_total{kind="malformed"}`, `okxtape_gaps_total{reason="disconnect"}`} {
		if metricValue(first, series) < 0 {
			t.Errorf("%s is not on /metrics from the start", series)
		}
	}
	if metricValue(first, `okxtape_gaps_total{reason="disconnect"}`) == 0 && metricValue(first, `okxtape_reconnects_total{endpoint="public"}`) != 0 {
		t.Errorf("reconnects before any gap: %v", metricValue(first, `okxtape_reconnects_total{endpoint="public"}`))
	}
	later := scrapeUntil(t, addr, func(m string) bool { return metricValue(m, `okxtape_gaps_total{reason="disconnect"}`) >= 1 })
	if c := metricValue(later, `okxtape_coverage_ratio{channel="tickers"}`); !(c > 0.5 && c < 1) {
		t.Errorf("okxtape_coverage_ratio{channel=\"tickers\"} after an outage: %v, want below 1", c)
	}
	if v := metricValue(later, "okxtape_last_gap_timestamp_seconds"); float64(time.Now().Unix())-v > 60 {
		t.Errorf("okxtape_last_gap_timestamp_seconds %v is not the recent outage", v)
	}
}

// scrapeUntil polls http://addr/metrics until ok accepts the body (for up to 12 s).
func scrapeUntil(t *testing.T, addr string, ok func(string) bool) string {
	t.Helper()
	deadline := time.Now().Add(12 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if ok(string(b)) {
				return string(b)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("/metrics at %s: no acceptable scrape within 12 s (last error %v)", addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// metricValue returns the value of one series in a Prometheus text exposition, or -1 when it is absent.
func metricValue(body, series string) float64 {
	for _, l := range strings.Split(body, "\n") {
		if rest, ok := strings.CutPrefix(l, series+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			if err == nil {
				return v
			}
		}
	}
	return -1
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

// reportClickHouse returns a DSN for a fresh database on the test server (dropped at the end), or "" when
// there is none and it is not required (the Parquet checks still run).
func reportClickHouse(t *testing.T) string {
	t.Helper()
	opts, err := chgo.ParseDSN(testenv.ClickHouseURL())
	if err == nil {
		var conn driver.Conn
		if conn, err = chgo.Open(opts); err == nil {
			err = conn.Ping(context.Background())
			conn.Close()
		}
	}
	if err != nil && !testenv.ClickHouse.Required() {
		t.Logf("no ClickHouse (%v): checking the Parquet store only", err)
		return ""
	}
	dsn, _ := testenv.ClickHouseDB(t)
	return dsn
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

// TestReportGapCoveredByAnotherRecorder: recorder A's books lose updates (sequence gaps and resyncs); recorder
// B records the same channel without faults. A's store alone reports its incidents as uncovered; with B's
// rows merged in (its Parquet files copied beside A's), the incidents B's rows fill are reported as covered.
func TestReportGapCoveredByAnotherRecorder(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	simA := startSim(t, "--instruments", "1", "--rate", "20", "--book-gap-every", "10")
	simB := startSim(t, "--instruments", "1", "--rate", "100")
	rec := func(s *sim, out string) *proc {
		return start(t, nil, "record", "--ws-url", s.ws(), "--rest-url", s.rest(), "--channels", "books",
			"--inst", "BTC-USDT", "--out", out, "--duration", "6s", "--raw-frames=false", "--log-level", "warn")
	}
	ra, rb := rec(simA, a), rec(simB, b)
	ra.wait(60 * time.Second)
	rb.wait(60 * time.Second)
	if ra.exitCode() != 0 || rb.exitCode() != 0 {
		t.Fatalf("record exits %d %d", ra.exitCode(), rb.exitCode())
	}
	covered := func(dir string) (incidents, covered int) {
		js := filepath.Join(t.TempDir(), "r.json")
		p := start(t, nil, "replay", "report", "--data", dir, "--out", "-", "--json", js, "--log-level", "warn")
		p.wait(time.Minute)
		if p.exitCode() != 0 {
			t.Fatalf("replay report exit %d", p.exitCode())
		}
		for _, g := range readReport(t, js).Gaps {
			if g.Channel == "books" {
				incidents++
				if g.CoveredByOther {
					covered++
				}
			}
		}
		return incidents, covered
	}
	n, c := covered(a)
	if n == 0 || c != 0 {
		t.Fatalf("recorder A alone: %d book incidents, %d covered; want some, none covered", n, c)
	}
	for _, ds := range []string{"books", "quotes"} {
		files, _ := filepath.Glob(filepath.Join(b, ds, "*", "*.parquet"))
		for _, f := range files {
			rel, _ := filepath.Rel(b, f)
			if err := os.MkdirAll(filepath.Dir(filepath.Join(a, rel)), 0o755); err != nil {
				t.Fatal(err)
			}
			copyFile(t, f, filepath.Join(a, rel))
		}
	}
	n2, c2 := covered(a)
	t.Logf("book incidents %d; covered by B's rows %d", n2, c2)
	if n2 != n || c2 < n2/2 {
		t.Errorf("with B's rows merged: %d incidents (%d before), %d covered; want most covered", n2, n, c2)
	}
}
