// Command replay replays stored OKX market data through the okxtape engine and strategies (run), serves it
// to OKX v5 WebSocket clients (serve), reports on its quality (report), and rebuilds normalised datasets from raw frames (renormalise).
package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/okxtape/okxtape/strategies"
	"github.com/urfave/cli/v2"
)

// version is set by the Makefile (-ldflags "-X main.version=...").
var version = "dev"

func main() {
	if err := newApp().Run(os.Args); err != nil {
		if ec, ok := err.(cli.ExitCoder); ok {
			fmt.Fprintln(os.Stderr, ec.Error())
			os.Exit(ec.ExitCode())
		}
		fmt.Fprintln(os.Stderr, "replay:", err)
		os.Exit(1)
	}
}

func newApp() *cli.App {
	usageErr := func(c *cli.Context, err error, _ bool) error {
		return cli.Exit(fmt.Sprintf("replay: %v (see replay %s --help)", err, c.Command.Name), 2)
	}
	return &cli.App{
		Name:    "replay",
		Usage:   "replay stored OKX v5 data through the okxtape engine, or serve it over OKX's WebSocket protocol",
		Version: version,
		OnUsageError: func(c *cli.Context, err error, _ bool) error {
			return cli.Exit(fmt.Sprintf("replay: %v (see replay --help)", err), 2)
		},
		Commands: []*cli.Command{
			{
				Name:  "run",
				Usage: "replay a time range through the engine and strategies; prints a summary JSON line on exit",
				Description: "Events of every selected dataset are merged by exchange time (ts); ties and streams whose ts went\n" +
					"backwards keep the recorded arrival order (seq). The engine's clock follows event time.",
				Flags: append(sourceFlags(), runFlags()...), Action: runCmd, OnUsageError: usageErr,
			},
			{
				Name:  "serve",
				Usage: "serve stored data over OKX's v5 WebSocket protocol (ws://LISTEN/ws/v5/public, /business, /private)",
				Description: "Each connection gets one playback clock over the selected range, started at the range's start by\n" +
					"its first subscribe request; later subscriptions join at the current playback time (depth channels\n" +
					"with a fresh snapshot). Stored raw frames are sent as OKX sent them, else pushes are re-rendered.",
				Flags: append(sourceFlags(), serveFlags()...), Action: serveCmd, OnUsageError: usageErr,
			},
			{
				Name:  "merge",
				Usage: "merge Parquet stores of redundant recorders into one: each event once, gap ledger recomputed",
				Description: "Events are deduplicated by their exchange identity (each table's event key); sessions of every\n" +
					"store are kept; a gap of one store that another store recorded is reported as covered, not kept.\n" +
					"Streaming, in bounded memory. Prints a summary JSON line.",
				Flags:        mergeFlags(),
				Action:       mergeCmd,
				ArgsUsage:    " ",
				OnUsageError: usageErr,
			},
			{
				Name:  "gaps",
				Usage: "print the gap ledger, each gap judged covered or not by the other recorders' sessions",
				Description: "For stores that several recorders wrote into (a ClickHouse cluster): a moment of a gap counts as\n" +
					"recorded when more sessions subscribed to its stream were running than gaps of it were open.\n" +
					"One JSON line per gap, then a summary line.",
				Flags: sourceFlags(), Action: gapsCmd, OnUsageError: usageErr,
			},
			{
				Name:  "report",
				Usage: "write a data-quality report (coverage, gaps, lag, books, sessions, verdicts) of a stored range",
				Description: "Reads every dataset of the range once, in bounded memory, and writes a self-contained HTML page\n" +
					"(--out), optionally the same figures as JSON (--json), and a short summary on stdout.",
				Flags: append(sourceFlags(), reportFlags()...), Action: reportCmd, OnUsageError: usageErr,
			},
			{
				Name:  "derive",
				Usage: "compute derived datasets (book snapshots at fixed intervals, trade bars) from a stored range",
				Description: "Replays books, gaps and trades through the same derive handlers that `record --derive` runs live and\n" +
					"writes book_snapshots and trade_bars through the normal sinks (--out Parquet, --out-clickhouse).",
				Flags: append(sourceFlags(), deriveFlags()...), Action: deriveCmd, OnUsageError: usageErr,
			},
			{
				Name:         "renormalise",
				Aliases:      []string{"renormalize"},
				Usage:        "rebuild the normalised datasets from the raw frames with the current decoder (no exchange)",
				Flags:        renormaliseFlags(),
				Action:       renormaliseCmd,
				ArgsUsage:    " ",
				OnUsageError: usageErr,
			},
		},
	}
}

func env(n string) []string { return []string{"OKXTAPE_" + n} }

func sourceFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "data", Value: "./data", EnvVars: env("DATA"), Usage: "Parquet store folder to read"},
		&cli.StringFlag{Name: "clickhouse", EnvVars: env("REPLAY_CLICKHOUSE"), Usage: "read from ClickHouse instead of --data, e.g. clickhouse://127.0.0.1:9000/okxtape"},
		&cli.StringFlag{Name: "from", EnvVars: env("FROM"), Usage: "start of the range (inclusive): RFC 3339 (2026-12-01T10:00:00Z) or a date (its UTC midnight); default: the first stored event"},
		&cli.StringFlag{Name: "to", EnvVars: env("TO"), Usage: "end of the range (exclusive): RFC 3339, or a date meaning the end of that UTC day; default: the last stored event"},
		&cli.StringSliceFlag{Name: "inst", EnvVars: env("INST"), Usage: "instrument ids to select (Header.InstID; repeat or comma-separate); default: all"},
		&cli.StringSliceFlag{Name: "channels", EnvVars: env("CHANNELS"), Usage: "OKX channel names to select (tickers, trades, candle1m, books, ...); default: all"},
		&cli.StringFlag{Name: "log-level", Value: "info", EnvVars: env("LOG_LEVEL"), Usage: "debug, info, warn, error"},
		&cli.IntFlag{Name: "memory-limit-mb", Value: 80, EnvVars: env("REPLAY_MEMORY_LIMIT_MB"), Usage: "soft heap limit for the Go GC in MiB (0: none; GOMEMLIMIT in the environment wins): replay's working set is a few row-group slices per instrument and dataset, so the limit keeps RSS flat without costing GC time"},
	}
}

func runFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "speed", Value: "max", EnvVars: env("SPEED"), Usage: "max (as fast as possible) or a factor of real time: 1, 10, 0.5"},
		&cli.StringSliceFlag{Name: "strategy", EnvVars: env("STRATEGY"), Usage: "strategies to run: " + strings.Join(strategies.Names(), ", ") + " (repeat or comma-separate)"},
		&cli.BoolFlag{Name: "no-progress", EnvVars: env("NO_PROGRESS"), Usage: "no progress bar even on a terminal (there is none when stderr is not a terminal)"},
	}
}

func serveFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "listen", Value: "127.0.0.1:8443", EnvVars: env("LISTEN"), Usage: "address to serve on (loopback by default)"},
		&cli.StringFlag{Name: "speed", Value: "1", EnvVars: env("SPEED"), Usage: "pace of each connection's playback: a factor of real time (1 = as recorded), or max"},
		&cli.BoolFlag{Name: "render", EnvVars: env("RENDER"), Usage: "re-render pushes from the normalised datasets even when raw frames are stored"},
		&cli.IntFlag{Name: "max-conns", Value: 1000, EnvVars: env("MAX_CONNS"), Usage: "concurrent connections; more are refused with HTTP 503"},
		&cli.DurationFlag{Name: "idle-timeout", Value: 30 * time.Second, EnvVars: env("IDLE_TIMEOUT"), Usage: "close a connection with 4004 after this long without a frame either way (OKX: 30s)"},
	}
}

func mergeFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringSliceFlag{Name: "data", EnvVars: env("MERGE_DATA"), Usage: "a Parquet store to merge (give two or more: --data A --data B)"},
		&cli.StringFlag{Name: "out", EnvVars: env("MERGE_OUT"), Usage: "folder for the merged store (new or empty; never one of the inputs)"},
		&cli.DurationFlag{Name: "window", Value: time.Minute, EnvVars: env("MERGE_WINDOW"), Usage: "how far apart in time two copies of one event may be"},
		&cli.StringFlag{Name: "log-level", Value: "info", EnvVars: env("LOG_LEVEL"), Usage: "debug, info, warn, error"},
	}
}

func renormaliseFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "data", Value: "./data", EnvVars: env("DATA"), Usage: "Parquet store holding the raw-frame dataset"},
		&cli.StringFlag{Name: "out", EnvVars: env("RENORMALISE_OUT"), Usage: "folder for the rebuilt store (default: DATA-renormalised next to DATA); never DATA itself"},
		&cli.StringFlag{Name: "from", EnvVars: env("FROM"), Usage: "raw frames received from this time (RFC 3339 or a date)"},
		&cli.StringFlag{Name: "to", EnvVars: env("TO"), Usage: "raw frames received before this time (RFC 3339, or a date meaning the end of that UTC day)"},
		&cli.StringFlag{Name: "log-level", Value: "info", EnvVars: env("LOG_LEVEL"), Usage: "debug, info, warn, error"},
	}
}
