package parquet

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/store"
)

// TestRejectedRowsCountedAndLoggedOncePerTable: rows that do not match their batch's table (a schema bug)
// are dropped without stopping the batch, counted, and logged once per table, not once per row.
func TestRejectedRowsCountedAndLoggedOncePerTable(t *testing.T) {
	var logs bytes.Buffer
	s := NewSink(t.TempDir(), Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	ctx := context.Background()
	if err := s.Open(ctx); err != nil {
		t.Fatal(err)
	}
	bad := func(seq uint64) schema.Stored { // a ticker row in a trades batch
		return &schema.Ticker{Header: schema.Header{Seq: seq, Channel: "tickers", InstID: "BTC-USDT", Ts: 1}}
	}
	good := &schema.Trade{Header: schema.Header{Seq: 10, Channel: "trades", InstID: "BTC-USDT", Ts: 1}, Side: "buy"}
	for _, b := range []store.Batch{
		{Table: schema.TradeTable, Events: []schema.Stored{bad(1), good, bad(2)}},
		{Table: schema.TradeTable, Events: []schema.Stored{bad(3)}},
		{Table: schema.OrderTable, Events: []schema.Stored{bad(4)}},
	} {
		if err := s.Write(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	if _, rejected := s.Skipped(); rejected != 4 {
		t.Fatalf("rejected %d rows, want 4", rejected)
	}
	if n := strings.Count(logs.String(), "row rejected"); n != 2 {
		t.Fatalf("%d rejection logs, want 2 (one per table):\n%s", n, logs.String())
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := s.Stats().Rows[schema.TradeTable.Name]; got != 1 {
		t.Fatalf("%d trade rows stored, want the 1 good one", got)
	}
}

// TestGlobTakesTheFolderLiterally: a store folder whose name has glob characters is listed, not matched.
func TestGlobTakesTheFolderLiterally(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data[1]*")
	day := filepath.Join(dir, "trades", "date=2026-12-03")
	if err := os.MkdirAll(day, 0o755); err != nil {
		t.Fatal(err)
	}
	name := filepath.Join(day, "part-000000-1-2.parquet")
	if err := os.WriteFile(name, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := Glob(dir, "*", "date=*", "*.parquet")
	if err != nil || len(got) != 1 || got[0] != name {
		t.Fatalf("Glob = %v, %v; want [%s]", got, err, name)
	}
	parts, err := ListParts(dir, "trades", time.Time{}, time.Time{})
	if err != nil || len(parts) != 1 {
		t.Fatalf("ListParts = %v, %v", parts, err)
	}
	if _, err := Glob(dir, "[", "x"); err == nil {
		t.Fatal("a malformed pattern gave no error")
	}
}
