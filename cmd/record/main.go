// Command record connects to OKX (or the simulator), feeds every event through the engine to strategies,
// and records it to Parquet and/or ClickHouse.
package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/okxtape/okxtape/schema/channels"
	"github.com/okxtape/okxtape/strategies"
)

// version is set by the Makefile (-ldflags "-X main.version=...").
var version = "dev"

func main() {
	if err := newApp().Run(os.Args); err != nil {
		if ec, ok := err.(cli.ExitCoder); ok {
			fmt.Fprintln(os.Stderr, ec.Error())
			os.Exit(ec.ExitCode())
		}
		fmt.Fprintln(os.Stderr, "record:", err)
		os.Exit(1)
	}
}

func newApp() *cli.App {
	return &cli.App{
		Name:            "record",
		UsageText:       "record [options]",
		HideHelpCommand: true,
		Usage:           "record OKX v5 market data through the okxtape engine into Parquet and/or ClickHouse",
		Version:         version,
		Flags:           flags(),
		Action:          run,
		// Bad flags are a usage error: say what is wrong and exit 2.
		OnUsageError: func(c *cli.Context, err error, _ bool) error {
			return cli.Exit(fmt.Sprintf("record: %v (see record --help)", err), 2)
		},
	}
}

// channelsUsage lists the channels of the registry for --help.
func channelsUsage() string {
	return "channels: " + strings.Join(channels.Names(), ",") + " (<bar>: " + strings.Join(channels.CandleBars, " ") +
		"); unknown names exit 2"
}

// instTypeChannels lists the registry's channels that are subscribed by instrument type.
func instTypeChannels() []string {
	var out []string
	for _, e := range channels.All() {
		if e.Selector == channels.ByInstType {
			out = append(out, e.Display())
		}
	}
	return out
}

func flags() []cli.Flag {
	env := func(n string) []string { return []string{"OKXTAPE_" + n} }
	return append([]cli.Flag{
		&cli.StringFlag{Name: "ws-url", Value: "wss://ws.okx.com:8443", EnvVars: env("WS_URL"), Usage: "OKX WebSocket base URL (the simulator: ws://127.0.0.1:PORT)"},
		&cli.StringFlag{Name: "rest-url", Value: "https://openapi.okx.com", EnvVars: env("REST_URL"), Usage: "OKX REST base URL"},
		&cli.BoolFlag{Name: "demo", EnvVars: env("DEMO"), Usage: "use OKX demo trading hosts (wspap.okx.com) and the x-simulated-trading REST header"},
		&cli.StringSliceFlag{Name: "channels", Value: cli.NewStringSlice("tickers", "trades"), EnvVars: env("CHANNELS"), Usage: channelsUsage()},
		&cli.StringSliceFlag{Name: "inst", Value: cli.NewStringSlice("BTC-USDT", "ETH-USDT"), EnvVars: env("INST"), Usage: "instrument ids"},
		&cli.StringFlag{Name: "inst-type", Value: "SPOT", EnvVars: env("INST_TYPE"), Usage: "instrument type (SPOT, SWAP, FUTURES, OPTION, MARGIN, ANY) for --all-instruments and the channels subscribed by instType: " + strings.Join(instTypeChannels(), ",")},
		&cli.BoolFlag{Name: "all-instruments", EnvVars: env("ALL_INSTRUMENTS"), Usage: "subscribe every live instrument of --inst-type (from REST /api/v5/public/instruments)"},
		&cli.StringSliceFlag{Name: "strategy", EnvVars: env("STRATEGY"), Usage: "strategies to run: " + strings.Join(strategies.Names(), ", ") + " (repeat or comma-separate)"},
		&cli.DurationFlag{Name: "duration", EnvVars: env("DURATION"), Usage: "stop after this long (0: until SIGINT/SIGTERM)"},
		&cli.StringFlag{Name: "out", Value: "./data", EnvVars: env("OUT"), Usage: "Parquet store folder (\"\" disables the Parquet sink)"},
		&cli.StringFlag{Name: "clickhouse", EnvVars: env("CLICKHOUSE"), Usage: "ClickHouse sink DSN, e.g. clickhouse://127.0.0.1:9000/okx"},
		&cli.StringFlag{Name: "spool-dir", EnvVars: env("SPOOL_DIR"), Usage: "crash-safe spool folder (default: OUT/.spool, or ./spool without --out)"},
		&cli.IntFlag{Name: "batch-size", Value: 1000, EnvVars: env("BATCH_SIZE"), Usage: "rows per sink batch (for ClickHouse the floor: its batches grow toward one insert per table per --flush-interval)"},
		&cli.DurationFlag{Name: "flush-interval", Value: defaultFlush, EnvVars: env("FLUSH_INTERVAL"), Usage: "flush a partial batch after this long"},
		&cli.BoolFlag{Name: "raw-frames", Value: true, EnvVars: env("RAW_FRAMES"), Usage: "also store every push frame as received (dataset raw; needed by replay serve and renormalise)"},
		&cli.StringFlag{Name: "derive", EnvVars: env("DERIVE"), Usage: "also write derived datasets live, e.g. 'book-snapshots=5@1s,25@100ms trade-bars=1s,1m clock=exchange' (see replay derive)"},
		&cli.BoolFlag{Name: "no-store", EnvVars: env("NO_STORE"), Usage: "run strategies only; store nothing"},
		&cli.StringFlag{Name: "metrics-addr", EnvVars: env("METRICS_ADDR"), Usage: "serve Prometheus /metrics here, e.g. 127.0.0.1:9464"},
		&cli.DurationFlag{Name: "stats-interval", Value: defaultStatsInterval, EnvVars: env("STATS_INTERVAL"), Usage: "log a one-line stats summary this often (0: never)"},
		&cli.DurationFlag{Name: "connect-timeout", Value: defaultConnectTimeout, EnvVars: env("CONNECT_TIMEOUT"), Usage: "give up (exit 1) if no connection succeeds within this long"},
		&cli.StringFlag{Name: "credentials-file", EnvVars: env("CREDENTIALS_FILE"), Usage: "file with OKX_API_KEY=, OKX_API_SECRET=, OKX_API_PASSPHRASE= lines (chmod 600); the same environment variables win"},
		&cli.IntFlag{Name: "memory-limit-mb", Value: defaultMemoryLimitMB, EnvVars: env("MEMORY_LIMIT_MB"), Usage: "soft heap limit for the Go GC in MiB (0: none; GOMEMLIMIT in the environment wins); keeps RSS flat under a high event rate"},
		&cli.IntFlag{Name: "gc-percent", Value: 100, EnvVars: env("GC_PERCENT"), Usage: "Go GC target percentage (GOGC; GOGC in the environment wins)"},
		&cli.StringFlag{Name: "log-level", Value: "info", EnvVars: env("LOG_LEVEL"), Usage: "debug, info, warn, error"},
	}, storeFlags(env)...)
}
