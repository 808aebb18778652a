package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/okxtape/okxtape/derive"
	"github.com/okxtape/okxtape/engine"
	"github.com/okxtape/okxtape/internal/cliutil"
	"github.com/okxtape/okxtape/replay"
	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/store"
	chstore "github.com/okxtape/okxtape/store/clickhouse"
	"github.com/okxtape/okxtape/store/parquet"
)

func deriveFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "out", EnvVars: env("DERIVE_OUT"), Usage: "Parquet store folder to write the derived datasets into (may be the --data folder; must not hold them already)"},
		&cli.StringFlag{Name: "out-clickhouse", EnvVars: env("DERIVE_CLICKHOUSE"), Usage: "ClickHouse DSN to write the derived datasets into, e.g. clickhouse://127.0.0.1:9000/okxtape"},
		&cli.StringFlag{Name: "book-snapshots", EnvVars: env("BOOK_SNAPSHOTS"), Usage: "LEVELS@INTERVAL[,…]: top LEVELS of each validated book every INTERVAL (100ms to 1d), e.g. 5@1s,25@100ms"},
		&cli.StringFlag{Name: "trade-bars", EnvVars: env("TRADE_BARS"), Usage: "INTERVAL[,…]: OHLCV bars from trades, e.g. 1s,1m"},
		&cli.StringFlag{Name: "clock", Value: schema.ClockExchange, EnvVars: env("CLOCK"), Usage: "snapshot boundaries in exchange time (exchange) or local receive time (local)"},
		&cli.BoolFlag{Name: "no-progress", EnvVars: env("NO_PROGRESS"), Usage: "no progress bar even on a terminal"},
	}
}

// deriveConfig reads --book-snapshots, --trade-bars and --clock.
func deriveConfig(c *cli.Context) (derive.Config, error) {
	var cfg derive.Config
	var err error
	if cfg.Snapshots, err = derive.ParseSnapshots(c.String("book-snapshots")); err != nil {
		return cfg, fmt.Errorf("--book-snapshots: %w", err)
	}
	if cfg.Bars, err = derive.ParseBars(c.String("trade-bars")); err != nil {
		return cfg, fmt.Errorf("--trade-bars: %w", err)
	}
	if cfg.Clock, err = derive.ParseClock(c.String("clock")); err != nil {
		return cfg, fmt.Errorf("--clock: %w", err)
	}
	if cfg.Empty() {
		return cfg, errors.New("nothing to derive: give --book-snapshots and/or --trade-bars")
	}
	return cfg, nil
}

// deriveSinks opens the output sinks; a Parquet folder that already holds derived datasets is refused,
// because the Parquet sink dedups by seq and a second run's rows must not mix with the first's.
func deriveSinks(c *cli.Context) ([]store.Sink, error) {
	var sinks []store.Sink
	if out := c.String("out"); out != "" {
		for _, t := range []*schema.Table{schema.BookSnapshotTable, schema.TradeBarTable} {
			parts, err := parquet.ListParts(out, t.Name, time.Time{}, time.Time{})
			if err != nil {
				return nil, fmt.Errorf("--out %s: %w", out, err)
			}
			if len(parts) > 0 {
				return nil, fmt.Errorf("--out %s already holds %s; remove it (or choose another --out) to derive again", out, t.Name)
			}
		}
		sinks = append(sinks, parquet.NewSink(out, parquet.Options{}))
	}
	if dsn := c.String("out-clickhouse"); dsn != "" {
		ch, err := chstore.NewSink(dsn, chstore.Options{})
		if err != nil {
			return nil, fmt.Errorf("--out-clickhouse: %w", err)
		}
		sinks = append(sinks, ch)
	}
	if len(sinks) == 0 {
		return nil, errors.New("no output: give --out DIR and/or --out-clickhouse DSN")
	}
	return sinks, nil
}

// deriveTables are the datasets derive reads: books and gaps for snapshots, trades for bars.
func deriveTables(cfg derive.Config) []*schema.Table {
	var t []*schema.Table
	if len(cfg.Snapshots) > 0 {
		t = append(t, schema.BookTable, schema.GapTable)
	}
	if len(cfg.Bars) > 0 {
		t = append(t, schema.TradeTable)
	}
	return t
}

// maxUnsynced is where derive waits for the spool: replay produces rows faster than a disk may take them,
// and a derive run must not drop any.
const maxUnsynced = 16 << 20

func deriveCmd(c *cli.Context) error {
	r, err := setup(c)
	if err != nil {
		return err
	}
	defer r.done()
	ctx, log, q, src, srcName := r.ctx, r.log, r.q, r.src, r.name
	cfg, err := deriveConfig(c)
	if err != nil {
		return cli.Exit("replay: "+err.Error(), 2)
	}
	sinks, err := deriveSinks(c)
	if err != nil {
		return cli.Exit("replay: "+err.Error(), 2)
	}
	started := time.Now()
	// The spool goes under --out (beside the files it feeds), else to the temp folder (ClickHouse only).
	if out := c.String("out"); out != "" {
		if err := os.MkdirAll(out, 0o755); err != nil {
			return cli.Exit("replay: --out: "+err.Error(), 1)
		}
	}
	spoolDir, err := os.MkdirTemp(c.String("out"), ".derive-spool-")
	if err != nil {
		return cli.Exit("replay: spool folder: "+err.Error(), 1)
	}
	rec, err := store.NewRecorder(store.RecorderOptions{SpoolDir: spoolDir, Logger: log}, sinks...)
	if err == nil {
		err = rec.Start(ctx)
	}
	if err != nil {
		os.RemoveAll(spoolDir)
		return cli.Exit("replay: "+err.Error(), 1)
	}
	d, err := derive.New(derive.Options{Config: cfg, Out: func(e schema.Stored) {
		for rec.Unsynced() > maxUnsynced && ctx.Err() == nil {
			time.Sleep(time.Millisecond)
		}
		rec.Handle(e)
	}})
	if err != nil {
		return cli.Exit("replay: "+err.Error(), 2)
	}
	s, err := replay.Open(ctx, src, q, deriveTables(cfg))
	if err != nil {
		return cli.Exit("replay: "+err.Error(), 1)
	}
	defer s.Close()
	eng := replay.NewEngine(s, q, engine.Options{Logger: log})
	d.Attach(eng)
	o := replay.RunOptions{}
	if first, last, ok := s.Bounds(); ok && !c.Bool("no-progress") && replay.StderrIsTerminal() {
		o.Progress = replay.NewBar(os.Stderr, first, last)
	}
	log.Info("deriving", "source", srcName, "from", q.From, "to", q.To, "book_snapshots", c.String("book-snapshots"),
		"trade_bars", c.String("trade-bars"), "clock", cfg.Clock)
	st, runErr := replay.Run(ctx, eng, s, o)
	d.Flush()
	cctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	closeErr := rec.Close(cctx)
	cancel()
	rs := rec.Stats()
	wall := time.Since(started).Seconds()
	summary := map[string]any{"command": "replay derive", "source": srcName, "events": st.Events,
		"channels": st.PerChannel, "wall_s": wall, "events_per_s": float64(st.Events) / wall,
		"derive": d.Stats(), "store": rs}
	if err := cliutil.PrintJSONLine(os.Stdout, summary); err != nil {
		log.Error("printing summary", "err", err)
	}
	switch {
	case runErr != nil && !errors.Is(runErr, context.Canceled):
		return cli.Exit("replay: "+runErr.Error(), 1)
	case closeErr != nil:
		return cli.Exit(fmt.Sprintf("replay: writing the derived rows: %v (the spool %s keeps them)", closeErr, spoolDir), 1)
	case rs.Dropped > 0:
		return cli.Exit(fmt.Sprintf("replay: %d derived rows were dropped", rs.Dropped), 1)
	}
	for name, ss := range rs.PerSink {
		if ss.BacklogBytes > 0 {
			return cli.Exit(fmt.Sprintf("replay: sink %s did not take every row (the spool %s keeps them)", name, spoolDir), 1)
		}
	}
	if err := os.RemoveAll(spoolDir); err != nil {
		log.Warn("removing the derive spool", "dir", spoolDir, "err", err)
	}
	return nil
}
