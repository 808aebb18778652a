package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/store"
	"github.com/okxtape/okxtape/store/parquet"
)

// TestSignalsOverAStore: the example program replays a stored ticker series and signals where the prices
// cross its levels (event time drives the cooldown).
func TestSignalsOverAStore(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	sink := parquet.NewSink(dir, parquet.Options{})
	if err := sink.Open(ctx); err != nil {
		t.Fatal(err)
	}
	const t0 = int64(1_780_000_000_000)
	var evs []schema.Stored
	for i, px := range []float64{100, 80, 80, 120, 100} {
		evs = append(evs, &schema.Ticker{Header: schema.Header{Seq: uint64(i + 1), Channel: "tickers",
			InstID: "BTC-USDT", Ts: t0 + int64(i)*2000}, Last: px})
	}
	if err := sink.Write(ctx, store.Batch{Table: schema.TickerTable, Events: evs}); err != nil {
		t.Fatal(err)
	}
	if err := sink.Close(ctx); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run(ctx, []string{"--data", dir, "--buy-below", "90", "--sell-above", "110"}, &out); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	if strings.Count(s, "BUY ") != 2 || strings.Count(s, "SELL ") != 1 || !strings.Contains(s, `"events":5`) {
		t.Fatalf("output:\n%s", s)
	}
	if err := run(ctx, []string{"--data", dir, "--from", "yesterday"}, &out); err == nil {
		t.Fatal("a bad --from was accepted")
	}
}
