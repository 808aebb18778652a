package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/okxtape/okxtape/engine"
	"github.com/okxtape/okxtape/internal/cliutil"
	"github.com/okxtape/okxtape/replay"
	"github.com/okxtape/okxtape/schema/channels"
	"github.com/okxtape/okxtape/store"
)

// query parses --from, --to, --inst and --channels. A bare date for --to means the end of that UTC day.
func query(c *cli.Context) (store.Query, error) {
	var q store.Query
	var err error
	if q.From, err = cliutil.ParseTime(c.String("from")); err != nil {
		return q, fmt.Errorf("--from: %w", err)
	}
	to := c.String("to")
	if q.To, err = cliutil.ParseTime(to); err != nil {
		return q, fmt.Errorf("--to: %w", err)
	}
	if len(to) == len("2006-01-02") {
		q.To = q.To.Add(24 * time.Hour)
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.To.After(q.From) {
		return q, fmt.Errorf("--to (%s) is not after --from (%s)", q.To.Format(time.RFC3339), q.From.Format(time.RFC3339))
	}
	q.Insts = cliutil.SplitList(c.StringSlice("inst"))
	q.Channels = cliutil.SplitList(c.StringSlice("channels"))
	if err := channels.Validate(q.Channels); err != nil {
		return q, fmt.Errorf("--channels: %w", err)
	}
	return q, nil
}

// source opens the Parquet store (--data) or ClickHouse (--clickhouse).
func source(c *cli.Context) (replay.Source, string, error) {
	if dsn := c.String("clickhouse"); dsn != "" {
		if c.IsSet("data") {
			return nil, "", errors.New("give --data or --clickhouse, not both")
		}
		if err := cliutil.CheckClickHouseDSN("clickhouse", dsn); err != nil {
			return nil, "", err
		}
		return replay.NewClickHouseSource(dsn), "clickhouse", nil
	}
	dir := c.String("data")
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, "", fmt.Errorf("--data %s: not a folder", dir)
	}
	return replay.NewParquetSource(dir), "parquet:" + dir, nil
}

// logger makes --log-level's logger the default one.
func logger(c *cli.Context) (*slog.Logger, error) {
	log, err := cliutil.NewLogger(c.String("log-level"))
	if err != nil {
		return nil, cli.Exit("replay: "+err.Error(), 2)
	}
	slog.SetDefault(log)
	return log, nil
}

// ranged is what a command over a stored range starts from: the logger, the query, the open source and a
// context cancelled by SIGINT/SIGTERM. done releases the context and the source.
type ranged struct {
	ctx  context.Context
	log  *slog.Logger
	q    store.Query
	src  replay.Source
	name string // the source as logs and summaries name it
	stop context.CancelFunc
}

func (r *ranged) done() {
	r.stop()
	r.src.Close()
}

// setup reads the logger, query and source flags (exit 2 on a bad one) and opens the source.
func setup(c *cli.Context) (*ranged, error) {
	log, err := logger(c)
	if err != nil {
		return nil, err
	}
	if mb := c.Int("memory-limit-mb"); os.Getenv("GOMEMLIMIT") == "" && mb > 0 {
		// Under a memory limit the GC need not also run at every doubling of a small live heap.
		debug.SetMemoryLimit(int64(mb) << 20)
		if os.Getenv("GOGC") == "" {
			debug.SetGCPercent(400)
		}
	}
	q, err := query(c)
	if err != nil {
		return nil, cli.Exit("replay: "+err.Error(), 2)
	}
	src, name, err := source(c)
	if err != nil {
		return nil, cli.Exit("replay: "+err.Error(), 2)
	}
	ctx, stop := cliutil.RunContext(c.Context, 0)
	return &ranged{ctx: ctx, log: log, q: q, src: src, name: name, stop: stop}, nil
}

// pacedSetup validates --speed before setup opens the source, for the commands that pace (run, serve).
func pacedSetup(c *cli.Context) (float64, *ranged, error) {
	speed, err := replay.ParseSpeed(c.String("speed"))
	if err != nil {
		return 0, nil, cli.Exit("replay: --speed: "+err.Error(), 2)
	}
	if c.Command.Name == "serve" {
		if err := cliutil.CheckListen("listen", c.String("listen")); err != nil {
			return 0, nil, cli.Exit("replay: "+err.Error(), 2)
		}
	}
	r, err := setup(c)
	return speed, r, err
}

func runCmd(c *cli.Context) error {
	speed, r, err := pacedSetup(c)
	if err != nil {
		return err
	}
	defer r.done()
	ctx, log, q, src, srcName := r.ctx, r.log, r.q, r.src, r.name
	started := time.Now()
	s, err := replay.Open(ctx, src, q, replay.ReplayTables())
	if err != nil {
		return cli.Exit("replay: "+err.Error(), 1)
	}
	defer s.Close()
	eng := replay.NewEngine(s, q, engine.Options{Logger: log})
	strats, err := cliutil.Strategies(c.StringSlice("strategy"), eng, os.Stdout)
	if err != nil {
		return cli.Exit("replay: "+err.Error(), 2)
	}
	if _, _, ok := s.Bounds(); !ok {
		return cli.Exit("replay: "+emptyRange(q, srcName), 1)
	}
	o := replay.RunOptions{Speed: speed, End: q.To}
	if first, last, ok := s.Bounds(); ok && !c.Bool("no-progress") && replay.StderrIsTerminal() {
		if start, ok := s.Start(q); ok {
			first = start.UnixMilli()
		}
		o.Progress = replay.NewBar(os.Stderr, first, last)
	}
	if _, last, ok := s.Bounds(); ok && !q.To.IsZero() && q.To.UnixMilli() > last+1 {
		// Trailing timers fire up to --to, but not beyond the stored data (a --to in the future would
		// otherwise run timers for days of empty event time).
		o.End = time.UnixMilli(last + 1)
	}
	log.Info("replaying", "source", srcName, "from", rangeEnd(q.From, "the first stored event"),
		"to", rangeEnd(q.To, "the last stored event"), "speed", c.String("speed"))
	st, runErr := replay.Run(ctx, eng, s, o)
	summary := map[string]any{
		"command": "replay run", "source": srcName, "events": st.Events, "channels": st.PerChannel,
		"wall_s": time.Since(started).Seconds(), "events_per_s": st.EventsPerSec, "engine": eng.Stats(),
		"strategies": cliutil.Summaries(strats),
	}
	if st.Events > 0 {
		summary["first_ts"] = time.UnixMilli(st.FirstTs).UTC().Format(time.RFC3339Nano)
		summary["last_ts"] = time.UnixMilli(st.LastTs).UTC().Format(time.RFC3339Nano)
	}
	if err := cliutil.PrintJSONLine(os.Stdout, summary); err != nil {
		log.Error("printing summary", "err", err)
	}
	if runErr != nil && !errors.Is(runErr, context.Canceled) {
		return cli.Exit("replay: "+runErr.Error(), 1)
	}
	if runErr == nil && st.Events == 0 {
		return cli.Exit("replay: "+emptyRange(q, srcName), 1)
	}
	return nil
}

func serveCmd(c *cli.Context) error {
	speed, r, err := pacedSetup(c)
	if err != nil {
		return err
	}
	defer r.done()
	ctx, log, q, src, srcName := r.ctx, r.log, r.q, r.src, r.name
	if c.Int("max-conns") <= 0 || c.Duration("idle-timeout") <= 0 {
		return cli.Exit("replay: --max-conns and --idle-timeout must be positive", 2)
	}
	srv, err := replay.NewServer(ctx, replay.ServeOptions{Source: src, Query: q, Speed: speed, Render: c.Bool("render"),
		Logger: log, MaxConns: c.Int("max-conns"), IdleTimeout: c.Duration("idle-timeout")})
	if err != nil {
		return cli.Exit("replay: "+err.Error(), 1)
	}
	ln, err := net.Listen("tcp", c.String("listen"))
	if err != nil {
		return cli.Exit(fmt.Sprintf("replay: listen on %s: %v", c.String("listen"), err), 1)
	}
	mode := "re-rendered pushes"
	if srv.RawMode() {
		mode = "raw frames as received"
	}
	log.Info("serving OKX v5 WebSocket", "public", "ws://"+ln.Addr().String()+"/ws/v5/public",
		"business", "ws://"+ln.Addr().String()+"/ws/v5/business", "private", "ws://"+ln.Addr().String()+"/ws/v5/private", "source", srcName, "sends", mode, "speed", c.String("speed"))
	if err := srv.Serve(ctx, ln); err != nil {
		return cli.Exit("replay: "+err.Error(), 1)
	}
	return nil
}

func renormaliseCmd(c *cli.Context) error {
	log, err := logger(c)
	if err != nil {
		return err
	}
	q, err := query(c)
	if err != nil {
		return cli.Exit("replay: "+err.Error(), 2)
	}
	dir := c.String("data")
	out := c.String("out")
	if out == "" {
		out = filepath.Clean(dir) + "-renormalised"
	}
	ctx, stop := cliutil.RunContext(c.Context, 0)
	defer stop()
	st, err := replay.Renormalise(ctx, replay.RenormaliseOptions{Dir: dir, Out: out, From: q.From, To: q.To, Logger: log})
	if err != nil {
		return cli.Exit("replay: "+err.Error(), 1)
	}
	summary := map[string]any{"command": "replay renormalise", "data": dir, "renormalise": st}
	return cliutil.PrintJSONLine(os.Stdout, summary)
}

// emptyRange says what selected nothing, flag by flag.
func emptyRange(q store.Query, src string) string {
	msg := fmt.Sprintf("no stored events in %s from %s to %s", src, rangeEnd(q.From, "the first stored event"),
		rangeEnd(q.To, "the last stored event"))
	if len(q.Insts) > 0 {
		msg += " for --inst " + strings.Join(q.Insts, ",")
	}
	if len(q.Channels) > 0 {
		msg += " on --channels " + strings.Join(q.Channels, ",")
	}
	return msg + "; check --from/--to (UTC), --inst and --channels"
}

// rangeEnd formats one end of the range, or names what an unset end means.
func rangeEnd(t time.Time, unset string) string {
	if t.IsZero() {
		return unset
	}
	return t.UTC().Format(time.RFC3339)
}

func mergeCmd(c *cli.Context) error {
	log, err := logger(c)
	if err != nil {
		return err
	}
	dirs := cliutil.SplitList(c.StringSlice("data"))
	if len(dirs) < 2 {
		return cli.Exit("replay: merge needs two or more --data stores", 2)
	}
	if c.String("out") == "" {
		return cli.Exit("replay: merge needs --out", 2)
	}
	ctx, stop := cliutil.RunContext(c.Context, 0)
	defer stop()
	st, err := replay.MergeStores(ctx, replay.MergeOptions{Dirs: dirs, Out: c.String("out"), Window: c.Duration("window"), Logger: log})
	if err != nil {
		return cli.Exit("replay: "+err.Error(), 1)
	}
	return cliutil.PrintJSONLine(os.Stdout, map[string]any{"command": "replay merge", "data": dirs, "merge": st})
}

func gapsCmd(c *cli.Context) error {
	r, err := setup(c)
	if err != nil {
		return err
	}
	defer r.done()
	ctx, log, q, src, srcName := r.ctx, r.log, r.q, r.src, r.name
	rep, err := replay.GapReports(ctx, src, q)
	if err != nil {
		return cli.Exit("replay: "+err.Error(), 1)
	}
	counts := map[string]int{}
	for _, r := range rep {
		counts[r.Status()]++
		g := r.Gap
		line := map[string]any{"from": time.UnixMilli(g.FromMs).UTC().Format(time.RFC3339Nano),
			"to": time.UnixMilli(g.ToMs).UTC().Format(time.RFC3339Nano), "reason": g.Reason, "conn": g.Conn,
			"channel": g.Channel, "inst_id": g.InstID, "status": r.Status(), "covered_ms": r.Covered, "uncovered": r.Uncovered}
		if err := cliutil.PrintJSONLine(os.Stdout, line); err != nil {
			return err
		}
	}
	log.Debug("gaps judged", "source", srcName, "gaps", len(rep))
	return cliutil.PrintJSONLine(os.Stdout, map[string]any{"command": "replay gaps", "source": srcName,
		"gaps": len(rep), "covered": counts["covered"], "partly_covered": counts["partly covered"], "uncovered": counts["gap"]})
}
