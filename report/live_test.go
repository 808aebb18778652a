package report

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/okxtape/okxtape/engine"
	"github.com/okxtape/okxtape/internal/testenv"
	"github.com/okxtape/okxtape/schema"
)

// The live coverage follows open outages until the reconnect, then the ledger's gap rows; book incidents
// touch one stream of the channel; the gap counter and last-gap time move with the rows, and the figures
// are on the Prometheus registry.
func TestLiveCoverage(t *testing.T) {
	start := time.UnixMilli(t0)
	now := start
	l := NewLive(func() time.Time { return now })
	e := engine.New(engine.Options{Mode: engine.Live, Logger: nil})
	l.Attach(e)
	at := func(s int) int64 { return t0 + int64(s)*1000 }
	for _, inst := range []string{"BTC-USDT", "ETH-USDT"} {
		e.Emit(&schema.Subscribed{Header: schema.Header{Channel: "tickers", InstID: inst, Ts: t0}, Conn: "public#0"})
		e.Emit(&schema.Subscribed{Header: schema.Header{Channel: "books", InstID: inst, Ts: t0}, Conn: "public#1"})
	}
	disconnects := gathered(t, "okxtape_gaps_total", "reason", schema.GapDisconnect)
	check := func(what string, want map[string]float64) {
		t.Helper()
		got := l.Coverage()
		for c, w := range want {
			if math.Abs(got[c]-w) > 1e-9 {
				t.Errorf("%s: coverage of %s %.4f, want %.4f", what, c, got[c], w)
			}
		}
	}
	now = start.Add(10 * time.Second)
	check("no gap", map[string]float64{"tickers": 1, "books": 1})

	e.Emit(&schema.Disconnected{Header: schema.Header{Ts: at(10)}, Conn: "public#0"})
	now = start.Add(20 * time.Second)
	check("outage open for 10 s of 20", map[string]float64{"tickers": 0.5, "books": 1})

	e.Emit(&schema.Connected{Header: schema.Header{Ts: at(20)}, Conn: "public#0", Reconnect: true, OutageFromMs: at(10)})
	e.Emit(&schema.Gap{Header: schema.Header{Ts: at(10)}, FromMs: at(10), ToMs: at(20), Reason: schema.GapDisconnect,
		Conn: "public#0", Detail: "tickers:BTC-USDT,tickers:ETH-USDT"})
	// A book incident on one instrument, its detection and resync rows overlapping: 4 s once.
	e.Emit(&schema.Gap{Header: schema.Header{Channel: "books", InstID: "ETH-USDT", Ts: at(30)}, FromMs: at(30), ToMs: at(32),
		Reason: schema.GapSequence, Conn: "public#1"})
	e.Emit(&schema.Gap{Header: schema.Header{Channel: "books", InstID: "ETH-USDT", Ts: at(30)}, FromMs: at(30), ToMs: at(34),
		Reason: schema.GapResync, Conn: "public#1"})
	now = start.Add(40 * time.Second)
	check("after the reconnect and a book incident", map[string]float64{"tickers": 0.75, "books": (1 + 0.9) / 2})

	if d := gathered(t, "okxtape_gaps_total", "reason", schema.GapDisconnect) - disconnects; d != 1 {
		t.Errorf("okxtape_gaps_total{reason=disconnect} moved by %v, want 1", d)
	}
	if v := gathered(t, "okxtape_last_gap_timestamp_seconds", "", ""); v != float64(at(34))/1000 {
		t.Errorf("last gap time %v, want %v", v, float64(at(34))/1000)
	}
	for c, want := range map[string]float64{"books": 0.95, "tickers": 0.75} {
		if got := gathered(t, "okxtape_coverage_ratio", "channel", c); math.Abs(got-want) > 1e-9 {
			t.Errorf("/metrics okxtape_coverage_ratio{channel=%q} %v, want %v", c, got, want)
		}
	}
}

// gathered returns the value of a series on the default registry (label "" for an unlabelled one).
func gathered(t *testing.T, name, label, value string) float64 {
	t.Helper()
	mfs, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			ok := label == ""
			for _, lp := range m.GetLabel() {
				ok = ok || (lp.GetName() == label && lp.GetValue() == value)
			}
			if !ok {
				continue
			}
			switch {
			case m.Gauge != nil:
				return m.GetGauge().GetValue()
			case m.Counter != nil:
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no series %s{%s=%q} on the registry", name, label, value)
	return 0
}

// The Grafana dashboard charts every metric this package exports.
func TestDashboardShowsCoverage(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "docs", "grafana-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("dashboard JSON: %v", err)
	}
	exprs := ""
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			exprs += tg.Expr + "\n"
		}
	}
	for _, name := range []string{"okxtape_coverage_ratio", "okxtape_gaps_total", "okxtape_last_gap_timestamp_seconds",
		"okxtape_decode_errors_total", "okxtape_reconnects_total"} {
		if !strings.Contains(exprs, name) {
			t.Errorf("no dashboard panel queries %s", name)
		}
	}
}
