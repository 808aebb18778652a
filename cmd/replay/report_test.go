package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/okxtape/okxtape/report"
)

// replay report over a small store: the selection narrows the report, the JSON and HTML files are written,
// the summary is on stdout; an empty store is an error, not an empty report.
func TestReportCommand(t *testing.T) {
	dir := t.TempDir()
	writeStore(t, dir)
	out := t.TempDir()
	page, js := filepath.Join(out, "r.html"), filepath.Join(out, "r.json")
	stdout, code := runApp(t, context.Background(), "report", "--data", dir, "--inst", "BTC-USDT", "--out", page, "--json", js)
	if code != 0 || !strings.Contains(stdout, "okxtape report:") || !strings.Contains(stdout, "complete") {
		t.Fatalf("exit %d, stdout:\n%s", code, stdout)
	}
	b, err := os.ReadFile(js)
	if err != nil {
		t.Fatal(err)
	}
	var r report.Report
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	var tickers uint64
	for _, c := range r.Coverage {
		if c.InstID == "ETH-USDT" {
			t.Errorf("--inst BTC-USDT reports ETH-USDT: %+v", c)
		}
		if c.Dataset == "tickers" {
			tickers += c.Events
		}
	}
	if tickers != 40 || len(r.Verdicts) != 2 || r.Verdicts[0].Verdict != report.Complete {
		t.Errorf("tickers %d, verdicts %+v", tickers, r.Verdicts)
	}
	if html, err := os.ReadFile(page); err != nil || !strings.Contains(string(html), "BTC-USDT") {
		t.Errorf("HTML report: %v", err)
	}

	if _, code := runApp(t, context.Background(), "report", "--data", t.TempDir(), "--out", "-"); code != 1 {
		t.Errorf("an empty store: exit %d, want 1", code)
	}
	if _, code := runApp(t, context.Background(), "report", "--data", dir, "--from", "nonsense"); code != 2 {
		t.Errorf("a bad --from: exit %d, want 2", code)
	}
}
