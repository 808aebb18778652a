// Command simple-replay runs the example strategy over a Parquet store with the replay library, the way a
// program of your own would, without the record/replay CLIs:
//
//	go run ./examples/simple/cmd/simple-replay --data ./data --from 2026-12-03 --to 2026-12-04
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/okxtape/okxtape/engine"
	"github.com/okxtape/okxtape/examples/simple"
	"github.com/okxtape/okxtape/replay"
	"github.com/okxtape/okxtape/store"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "simple-replay:", err)
		os.Exit(1)
	}
}

// run replays the tickers of --data in [--from, --to) through a Simple strategy and prints its signals and
// a JSON summary to out.
func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("simple-replay", flag.ContinueOnError)
	data := fs.String("data", "./data", "Parquet store")
	from := fs.String("from", "", "start, RFC 3339 or YYYY-MM-DD (default: the first event)")
	to := fs.String("to", "", "end, exclusive (default: the last event)")
	buyBelow := fs.Float64("buy-below", 0, "buy signal below this price (0: first price - 0.1 %)")
	sellAbove := fs.Float64("sell-above", 0, "sell signal above this price (0: first price + 0.1 %)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var q store.Query
	var err error
	if q.From, err = parseTime(*from); err != nil {
		return fmt.Errorf("--from: %w", err)
	}
	if q.To, err = parseTime(*to); err != nil {
		return fmt.Errorf("--to: %w", err)
	}
	src := replay.NewParquetSource(*data)
	defer src.Close()
	s, err := replay.Open(ctx, src, q, replay.ReplayTables())
	if err != nil {
		return err
	}
	defer s.Close()
	eng := replay.NewEngine(s, q, engine.Options{})
	strat := &simple.Simple{Out: out, BuyBelow: *buyBelow, SellAbv: *sellAbove, Band: 0.001, Cooldown: time.Second}
	strat.Attach(eng)
	st, err := replay.Run(ctx, eng, s, replay.RunOptions{End: q.To})
	if err != nil {
		return err
	}
	return json.NewEncoder(out).Encode(map[string]any{"events": st.Events, "simple": strat.Summary()})
}

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	return time.Parse(time.RFC3339Nano, s)
}
