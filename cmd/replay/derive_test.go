package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/store/parquet"
)

func TestDeriveCommand(t *testing.T) {
	dir, out := t.TempDir(), filepath.Join(t.TempDir(), "derived")
	writeStore(t, dir) // 20 trades, 10 ms apart, alternating instruments
	got, code := runApp(t, context.Background(), "derive", "--data", dir, "--out", out, "--trade-bars", "100ms,1s",
		"--log-level", "warn")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, got)
	}
	m := lastJSON(t, got)
	if m["events"].(float64) != 20 { // only trades are read for bars
		t.Fatalf("summary %v", m)
	}
	var bars, trades int64
	err := parquet.ReadDataset(out, "trade_bars", time.Time{}, time.Time{}, func(e schema.Stored) error {
		if b := e.(*schema.TradeBar); b.IntervalMs == 1000 {
			trades += b.Trades
		}
		bars++
		return nil
	})
	if err != nil || trades != 20 || bars < 4 {
		t.Fatalf("%d bars holding %d trades at 1s: %v", bars, trades, err)
	}
	if spools, _ := filepath.Glob(filepath.Join(out, ".derive-spool-*")); len(spools) != 0 {
		t.Fatalf("the derive spool was left behind: %v", spools)
	}
	// Deriving into a folder that holds derived rows already is refused.
	if _, code := runApp(t, context.Background(), "derive", "--data", dir, "--out", out, "--trade-bars", "1s"); code != 2 {
		t.Fatalf("second derive into the same --out: exit %d, want 2", code)
	}
}

func TestDeriveUsageErrorsExit2(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(t.TempDir(), "o")
	for _, args := range [][]string{
		{"derive", "--data", dir, "--out", out},                          // nothing to derive
		{"derive", "--data", dir, "--trade-bars", "1s"},                  // no output
		{"derive", "--data", dir, "--out", out, "--trade-bars", "7s"},    // does not divide a day
		{"derive", "--data", dir, "--out", out, "--book-snapshots", "5"}, // no interval
		{"derive", "--data", dir, "--out", out, "--book-snapshots", "5@1s", "--clock", "utc"},
	} {
		if _, code := runApp(t, context.Background(), args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a refused derive created its --out folder")
	}
}
