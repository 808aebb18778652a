package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"github.com/okxtape/okxtape/strategies"

	"github.com/urfave/cli/v2"

	"github.com/okxtape/okxtape/derive"
	"github.com/okxtape/okxtape/engine"
	"github.com/okxtape/okxtape/ingest"
	"github.com/okxtape/okxtape/internal/cliutil"
	"github.com/okxtape/okxtape/report"
	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/store"
)

const (
	defaultFlush          = time.Second
	defaultStatsInterval  = 30 * time.Second
	defaultConnectTimeout = 30 * time.Second
	// defaultMemoryLimitMB is the GC's soft heap limit. The recorder's live heap is about 70 MiB at 20k
	// frames/s (the Parquet sink's row buffers within 1.5 times its 24 MiB budget, the spool's 8 MiB ring, the
	// zstd page encoders, one row group being encoded); without a limit GOGC=100 lets the heap grow to twice
	// that before collecting. The heap is mostly pointer-free buffers, so collecting more often is cheap.
	defaultMemoryLimitMB = 112
	// clickHouseMemoryLimitMB is the default with a ClickHouse sink, whose rate-sized batches (up to 64x
	// --batch-size rows per table) need room the Parquet-only budget does not leave: near the limit the GC
	// would run all the time.
	clickHouseMemoryLimitMB = 320
)

func run(c *cli.Context) error {
	log, err := cliutil.NewLogger(c.String("log-level"))
	if err != nil {
		return cli.Exit("record: "+err.Error(), 2)
	}
	if err := validate(c); err != nil {
		return err
	}
	slog.SetDefault(log)
	setGC(c, log)
	started := time.Now()
	ctx, stop := cliutil.RunContext(c.Context, c.Duration("duration"))
	defer stop()

	tg, err := resolveTarget(ctx, c, log)
	if err != nil {
		return err
	}

	var deriveCfg derive.Config
	if spec := c.String("derive"); spec != "" {
		if c.Bool("no-store") {
			return cli.Exit("record: --derive writes datasets; it cannot be combined with --no-store", 2)
		}
		if deriveCfg, err = derive.ParseSpec(spec); err != nil {
			return cli.Exit("record: --derive: "+err.Error(), 2)
		}
	}

	eng := engine.New(engine.Options{Mode: engine.Live, Logger: log})
	report.NewLive(nil).Attach(eng) // okxtape_coverage_ratio and the gap metrics on /metrics
	strats, err := cliutil.Strategies(c.StringSlice("strategy"), eng, os.Stdout)
	if err != nil {
		return cli.Exit("record: "+err.Error(), 2)
	}

	var rec *store.Recorder
	if !c.Bool("no-store") {
		rec, err = openRecorder(ctx, c, log)
		if err != nil {
			return cli.Exit("record: "+err.Error(), storeExitCode(err))
		}
		eng.OnAll("recorder", rec.Handle)
	}
	if tg.listings != nil {
		tg.listings.attach(eng)
	}
	var deriver *derive.Deriver
	if !deriveCfg.Empty() {
		// Derived rows go straight to the recorder (a handler cannot Emit); see package derive.
		if deriver, err = derive.New(derive.Options{Config: deriveCfg, Out: func(e schema.Stored) { rec.Handle(e) }}); err != nil {
			return cli.Exit("record: --derive: "+err.Error(), 2)
		}
		deriver.Attach(eng)
	}
	_, stopMetrics, err := cliutil.ServeMetrics(c.String("metrics-addr"), log)
	if err != nil {
		return cli.Exit("record: "+err.Error(), 2)
	}
	defer stopMetrics()

	session := &schema.Session{
		SessionID: fmt.Sprintf("%d-%d", started.UnixNano(), os.Getpid()), StartMs: started.UnixMilli(),
		Version: version, ConfigHash: configHash(c), Channels: strings.Join(tg.channels, ","),
		Instruments: strings.Join(tg.insts, ","),
	}
	session.Host, _ = os.Hostname()
	session.Ts = session.StartMs
	eng.Emit(schema.Clone(session))
	if rec != nil {
		if g := rec.CrashGap(); g != nil { // the window a crashed previous run left unrecorded
			eng.Emit(g)
		}
	}

	client, err := ingest.New(ingest.Config{
		WSURL: tg.wsURL, RESTURL: tg.restURL, Demo: c.Bool("demo"), Subscriptions: tg.subs,
		Credentials:    ingest.Credentials{APIKey: tg.creds.APIKey, Secret: tg.creds.Secret, Passphrase: tg.creds.Passphrase},
		RawFrames:      c.Bool("raw-frames") && !c.Bool("no-store"),
		ConnectTimeout: c.Duration("connect-timeout"),
		Logger:         log, Emit: eng.Emit,
	})
	if err != nil {
		return cli.Exit("record: "+err.Error(), 2)
	}
	if tg.listings != nil {
		go tg.listings.run(ctx, client)
	}
	if iv := c.Duration("stats-interval"); iv > 0 {
		go logStats(ctx, log, iv, eng, client, rec)
	}
	log.Info("recording", "ws_url", tg.wsURL, "channels", tg.channels, "instruments", len(tg.insts),
		"subscriptions", len(tg.subs))
	runErr := client.Run(ctx)
	if errors.Is(runErr, ingest.ErrNeverConnected) && c.Duration("duration") > 0 {
		runErr = fmt.Errorf("%w (the run ended after --duration %s; --connect-timeout is %s)", runErr,
			c.Duration("duration"), c.Duration("connect-timeout"))
	}
	// From here on a second SIGINT/SIGTERM kills the process at once: nothing is lost by it, because every
	// accepted event is already in the fsync'd spool that the next start recovers.
	stop()

	if deriver != nil { // the rows the last events completed, before the recorder closes
		deriver.Flush()
	}
	return finish(log, started, session, eng, client, rec, strats, tg.listings, deriver, runErr)
}

// finish shuts down in order once ingest has stopped: it closes the session, drains and closes the
// recorder, and prints the summary line. The exit is 1 when the run or the recorder failed.
func finish(log *slog.Logger, started time.Time, session *schema.Session, eng *engine.Engine, client *ingest.Client,
	rec *store.Recorder, strats map[string]strategies.Strategy, lst *listings,
	deriver *derive.Deriver, runErr error) error {
	session.EndMs = time.Now().UnixMilli()
	session.Seq = 0
	eng.Emit(session)
	summary := map[string]any{
		"command": "record", "wall_s": time.Since(started).Seconds(),
		"ingest": client.Stats(), "engine": eng.Stats(),
	}
	if lst != nil {
		summary["listings"] = lst.summary()
	}
	if rec != nil {
		cctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		if err := rec.Close(cctx); err != nil {
			log.Error("closing the recorder", "err", err)
			if runErr == nil {
				runErr = err
			}
		}
		cancel()
		summary["store"] = rec.Stats()
	}
	summary["strategies"] = cliutil.Summaries(strats)
	if deriver != nil {
		summary["derive"] = deriver.Stats()
	}
	if err := cliutil.PrintJSONLine(os.Stdout, summary); err != nil {
		log.Error("printing summary", "err", err)
	}
	if runErr != nil { // the client returns nil on a clean stop (signal or --duration)
		return cli.Exit("record: "+runErr.Error(), 1)
	}
	return nil
}

// setGC applies --gc-percent and --memory-limit-mb unless GOGC / GOMEMLIMIT are set in the environment.
func setGC(c *cli.Context, log *slog.Logger) {
	if os.Getenv("GOGC") == "" && c.Int("gc-percent") != 100 {
		debug.SetGCPercent(c.Int("gc-percent"))
	}
	mb := c.Int("memory-limit-mb")
	if !c.IsSet("memory-limit-mb") && c.String("clickhouse") != "" {
		mb = clickHouseMemoryLimitMB
	}
	if os.Getenv("GOMEMLIMIT") == "" && mb > 0 {
		debug.SetMemoryLimit(int64(mb) << 20)
		log.Debug("gc soft memory limit", "mib", mb)
	}
}

// configHash identifies the recording configuration in the session ledger; secrets are not part of it.
func configHash(c *cli.Context) string {
	var parts []string
	for _, n := range []string{"ws-url", "rest-url", "demo", "channels", "inst", "inst-type", "all-instruments", "out", "clickhouse", "batch-size", "flush-interval", "raw-frames", "derive"} {
		parts = append(parts, n+"="+fmt.Sprint(c.Value(n)))
	}
	sort.Strings(parts)
	h := sha256.Sum256([]byte(strings.Join(parts, "\n")))
	return hex.EncodeToString(h[:8])
}

func logStats(ctx context.Context, log *slog.Logger, every time.Duration, eng *engine.Engine, client *ingest.Client, rec *store.Recorder) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			st := eng.Stats()
			args := []any{"dispatched", st.Dispatched, "panics", st.Panics, "ingest", client.Stats()}
			if rec != nil {
				args = append(args, "store", rec.Stats())
			}
			log.Info("stats", args...)
		}
	}
}
