package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	chstore "github.com/okxtape/okxtape/store/clickhouse"
	"github.com/okxtape/okxtape/store/parquet"

	"github.com/urfave/cli/v2"

	"github.com/okxtape/okxtape/engine"
	"github.com/okxtape/okxtape/ingest"
	"github.com/okxtape/okxtape/ingest/decode"
	"github.com/okxtape/okxtape/internal/cliutil"
	"github.com/okxtape/okxtape/schema"
	registry "github.com/okxtape/okxtape/schema/channels"
	"github.com/okxtape/okxtape/store"
)

const (
	defaultFlush          = time.Second
	defaultStatsInterval  = 30 * time.Second
	defaultConnectTimeout = 30 * time.Second
	// defaultMemoryLimitMB is the GC's soft heap limit. The recorder's steady state is about 150 MiB (Parquet
	// rows buffered up to 64 MiB, the spool's 32 MiB ring, the file being written); without a limit GOGC=100
	// lets the heap grow to twice that before collecting.
	defaultMemoryLimitMB = 320
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

	creds, err := cliutil.LoadCredentials(c.String("credentials-file"))
	if err != nil {
		return cli.Exit("record: "+err.Error(), 2)
	}
	channels := cliutil.SplitList(c.StringSlice("channels"))
	insts := cliutil.SplitList(c.StringSlice("inst"))
	if len(channels) == 0 {
		return cli.Exit("record: --channels is empty", 2)
	}
	if err := registry.Validate(channels); err != nil {
		return cli.Exit("record: --channels: "+err.Error(), 2)
	}
	wsURL, restURL := c.String("ws-url"), c.String("rest-url")
	if c.Bool("demo") && wsURL == "wss://ws.okx.com:8443" {
		wsURL = "wss://wspap.okx.com:8443"
	}
	if c.Bool("all-instruments") {
		list, err := ingest.FetchInstruments(ctx, restURL, c.String("inst-type"), c.Bool("demo"))
		if err != nil {
			return cli.Exit(fmt.Sprintf("record: listing instruments: %v", err), 1)
		}
		insts = insts[:0]
		for _, in := range list {
			if in.State == "" || in.State == "live" {
				insts = append(insts, in.InstID)
			}
		}
		log.Info("subscribing all instruments", "inst_type", c.String("inst-type"), "count", len(insts))
	}
	subs, needLogin := subscriptions(channels, insts, c.String("inst-type"))
	if needLogin && creds.Empty() {
		return cli.Exit("record: private channels need OKX_API_KEY, OKX_API_SECRET and OKX_API_PASSPHRASE (environment or --credentials-file)", 2)
	}

	eng := engine.New(engine.Options{Mode: engine.Live, Logger: log})
	strats, err := cliutil.Strategies(c.StringSlice("strategy"), eng, os.Stdout)
	if err != nil {
		return cli.Exit("record: "+err.Error(), 2)
	}

	var rec *store.Recorder
	if !c.Bool("no-store") {
		rec, err = openRecorder(ctx, c, log)
		if err != nil {
			return cli.Exit("record: "+err.Error(), 1)
		}
		eng.OnAll("recorder", rec.Handle)
	}
	_, stopMetrics, err := cliutil.ServeMetrics(c.String("metrics-addr"), log)
	if err != nil {
		return cli.Exit("record: "+err.Error(), 2)
	}
	defer stopMetrics()

	session := &schema.Session{
		SessionID: fmt.Sprintf("%d-%d", started.UnixNano(), os.Getpid()), StartMs: started.UnixMilli(),
		Version: version, ConfigHash: configHash(c), Channels: strings.Join(channels, ","), Instruments: strings.Join(insts, ","),
	}
	session.Host, _ = os.Hostname()
	session.Ts = session.StartMs
	eng.Emit(schema.Clone(session))

	client, err := ingest.New(ingest.Config{
		WSURL: wsURL, RESTURL: restURL, Demo: c.Bool("demo"), Subscriptions: subs,
		Credentials:    ingest.Credentials{APIKey: creds.APIKey, Secret: creds.Secret, Passphrase: creds.Passphrase},
		RawFrames:      c.Bool("raw-frames") && !c.Bool("no-store"),
		ConnectTimeout: c.Duration("connect-timeout"),
		Logger:         log, Emit: eng.Emit,
	})
	if err != nil {
		return cli.Exit("record: "+err.Error(), 2)
	}
	if iv := c.Duration("stats-interval"); iv > 0 {
		go logStats(ctx, log, iv, eng, client, rec)
	}
	log.Info("recording", "ws_url", wsURL, "channels", channels, "instruments", len(insts), "subscriptions", len(subs))
	runErr := client.Run(ctx)
	// From here on a second SIGINT/SIGTERM kills the process at once: nothing is lost by it, because every
	// accepted event is already in the fsync'd spool that the next start recovers.
	stop()

	// Shutdown in order: ingest has stopped; close the session, drain and close the recorder, summarise.
	session.EndMs = time.Now().UnixMilli()
	session.Seq = 0
	eng.Emit(session)
	summary := map[string]any{
		"command": "record", "wall_s": time.Since(started).Seconds(),
		"ingest": client.Stats(), "engine": eng.Stats(),
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
	if mb := c.Int("memory-limit-mb"); os.Getenv("GOMEMLIMIT") == "" && mb > 0 {
		debug.SetMemoryLimit(int64(mb) << 20)
		log.Debug("gc soft memory limit", "mib", mb)
	}
}

// subscriptions returns the args for channels (validated) by their registry selector: one per instrument id,
// per instrument family (--inst read as families), or one in all with instType or nothing. needLogin is set
// when a private channel is among them (public channels that need login use credentials only when given).
func subscriptions(channels, insts []string, instType string) (subs []decode.Arg, needLogin bool) {
	for _, ch := range channels {
		e := registry.Lookup(ch)
		if e == nil {
			continue
		}
		needLogin = needLogin || e.Endpoint == schema.EndpointPrivate
		switch e.Selector {
		case registry.ByInstID:
			for _, in := range insts {
				subs = append(subs, decode.Arg{Channel: ch, InstID: in})
			}
		case registry.ByInstFamily:
			for _, in := range insts {
				subs = append(subs, decode.Arg{Channel: ch, InstType: instType, InstFamily: in})
			}
		case registry.ByInstType:
			subs = append(subs, decode.Arg{Channel: ch, InstType: instType})
		default: // ByCcy (all currencies), ByNone
			subs = append(subs, decode.Arg{Channel: ch})
		}
	}
	return subs, needLogin
}

func openRecorder(ctx context.Context, c *cli.Context, log *slog.Logger) (*store.Recorder, error) {
	var sinks []store.Sink
	out := c.String("out")
	if out != "" {
		sinks = append(sinks, parquet.NewSink(out, parquet.Options{}))
	}
	if dsn := c.String("clickhouse"); dsn != "" {
		ch, err := chstore.NewSink(dsn, chstore.Options{})
		if err != nil {
			return nil, fmt.Errorf("clickhouse sink: %w", err)
		}
		sinks = append(sinks, ch)
	}
	if len(sinks) == 0 {
		return nil, errors.New("no sink: give --out and/or --clickhouse, or --no-store")
	}
	spool := c.String("spool-dir")
	if spool == "" {
		spool = "./spool"
		if out != "" {
			spool = filepath.Join(out, ".spool")
		}
	}
	rec, err := store.NewRecorder(store.RecorderOptions{
		SpoolDir: spool, BatchSize: c.Int("batch-size"), FlushInterval: c.Duration("flush-interval"), Logger: log,
	}, sinks...)
	if err != nil {
		return nil, err
	}
	if err := rec.Start(ctx); err != nil {
		return nil, err
	}
	return rec, nil
}

// configHash identifies the recording configuration in the session ledger; secrets are not part of it.
func configHash(c *cli.Context) string {
	var parts []string
	for _, n := range []string{"ws-url", "rest-url", "demo", "channels", "inst", "inst-type", "all-instruments", "out", "clickhouse", "batch-size", "flush-interval", "raw-frames"} {
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
