// Command okxsim runs the OKX v5 simulator (package sim) as a standalone server.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/okxtape/okxtape/internal/cliutil"
	"github.com/okxtape/okxtape/sim"
	"github.com/urfave/cli/v2"
)

func main() {
	if err := newApp().Run(os.Args); err != nil {
		if ec, ok := err.(cli.ExitCoder); ok {
			fmt.Fprintln(os.Stderr, ec.Error())
			os.Exit(ec.ExitCode())
		}
		fmt.Fprintln(os.Stderr, "okxsim:", err)
		os.Exit(1)
	}
}

func env(name string) []string { return []string{"OKXSIM_" + name} }

func newApp() *cli.App {
	return &cli.App{
		Name:            "okxsim",
		Usage:           "fake OKX v5 exchange (WebSocket public/business/private + REST instruments/books)",
		UsageText:       "okxsim [options]",
		HideHelpCommand: true,
		// A bad flag is a usage error: one line saying what is wrong, exit 2 (not the whole help).
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return cli.Exit(fmt.Sprintf("okxsim: %v (see okxsim --help)", err), 2)
		},
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "listen", Value: "127.0.0.1:8443", Usage: "listen address", EnvVars: env("LISTEN")},
			&cli.IntFlag{Name: "instruments", Value: 2, Usage: "synthetic bases (BTC, ETH, SOL, ...; SPOT + SWAP each)", EnvVars: env("INSTRUMENTS")},
			&cli.Float64Flag{Name: "rate", Value: 10, Usage: "data frames per second per channel per instrument", EnvVars: env("RATE")},
			&cli.Int64Flag{Name: "seed", Usage: "random seed", EnvVars: env("SEED")},
			&cli.StringFlag{Name: "capture", Usage: "serve the frames of this OKX.ws.1.0 capture file instead of synthetic data", EnvVars: env("CAPTURE")},
			&cli.Float64Flag{Name: "capture-speed", Usage: "capture pacing: 0 = as fast as possible, 1 = real time", EnvVars: env("CAPTURE_SPEED")},
			&cli.StringFlag{Name: "api-key", Usage: "API key accepted by login", EnvVars: env("API_KEY")},
			&cli.StringFlag{Name: "api-secret", Usage: "API secret for the login signature", EnvVars: env("API_SECRET")},
			&cli.StringFlag{Name: "passphrase", Usage: "API passphrase", EnvVars: env("PASSPHRASE")},
			&cli.BoolFlag{Name: "checksum", Usage: "books: real CRC32 checksums (pre-2026-06-23) instead of 0", EnvVars: env("CHECKSUM")},
			&cli.IntFlag{Name: "book-depth", Value: 400, Usage: "levels per side in books snapshots", EnvVars: env("BOOK_DEPTH")},
			&cli.DurationFlag{Name: "list-every", Usage: "list a new base (SPOT + SWAP) every D and delist it a period later, announced on the instruments channel", EnvVars: env("LIST_EVERY")},
			&cli.BoolFlag{Name: "embed-send-time", Usage: "trades carry their send time (Unix ns) as tradeId", EnvVars: env("EMBED_SEND_TIME")},
			&cli.DurationFlag{Name: "drop-every", Usage: "abruptly close every connection every D", EnvVars: env("DROP_EVERY")},
			&cli.DurationFlag{Name: "notice-every", Usage: "send a 64008 notice every D, then close NoticeGrace later", EnvVars: env("NOTICE_EVERY")},
			&cli.DurationFlag{Name: "notice-grace", Value: 2 * time.Second, Usage: "delay between notice and close", EnvVars: env("NOTICE_GRACE")},
			&cli.BoolFlag{Name: "ignore-ping", Usage: "stop answering ping", EnvVars: env("IGNORE_PING")},
			&cli.IntFlag{Name: "malformed-every", Usage: "replace every Nth data frame by a malformed one", EnvVars: env("MALFORMED_EVERY")},
			&cli.IntFlag{Name: "unknown-every", Usage: "precede every Nth data frame by an unknown-channel push", EnvVars: env("UNKNOWN_EVERY")},
			&cli.DurationFlag{Name: "slow-read", Usage: "sleep D before reading each client frame", EnvVars: env("SLOW_READ")},
			&cli.IntFlag{Name: "book-gap-every", Usage: "books: lose every Nth update", EnvVars: env("BOOK_GAP_EVERY")},
			&cli.IntFlag{Name: "book-dup-every", Usage: "books: send every Nth update twice", EnvVars: env("BOOK_DUP_EVERY")},
			&cli.IntFlag{Name: "book-reset-every", Usage: "books: sequence reset on every Nth update", EnvVars: env("BOOK_RESET_EVERY")},
			&cli.IntFlag{Name: "book-bad-checksum-every", Usage: "books: wrong checksum on every Nth update", EnvVars: env("BOOK_BAD_CHECKSUM_EVERY")},
			&cli.IntFlag{Name: "book-crossed-every", Usage: "books: crossed book on every Nth update", EnvVars: env("BOOK_CROSSED_EVERY")},
			&cli.IntFlag{Name: "bad-value-every", Usage: "every Nth one-item data frame carries a bad value (Inf, NaN, 0x1p3, no ts)", EnvVars: env("BAD_VALUE_EVERY")},
			&cli.IntFlag{Name: "bomb-every", Usage: "precede every Nth data frame by a --bomb-bytes push (offers permessage-deflate: a deflate bomb)", EnvVars: env("BOMB_EVERY")},
			&cli.IntFlag{Name: "bomb-bytes", Usage: "size of the bomb push before compression (0: 64 MiB)", EnvVars: env("BOMB_BYTES")},
			&cli.DurationFlag{Name: "idle-close", Value: 30 * time.Second, Usage: "close 4004 after D without outbound frames", EnvVars: env("IDLE_CLOSE")},
			&cli.IntFlag{Name: "max-conn-per-sec", Usage: "new connections/s per IP (0 = 3, -1 = unlimited)", EnvVars: env("MAX_CONN_PER_SEC")},
			&cli.IntFlag{Name: "max-subs-per-hour", Usage: "subscribe/unsubscribe/login requests per hour per connection (0 = 480, -1 = unlimited)", EnvVars: env("MAX_SUBS_PER_HOUR")},
			&cli.StringFlag{Name: "log-level", Value: "info", Usage: "debug|info|warn|error", EnvVars: env("LOG_LEVEL")},
		},
		Action: run,
	}
}

func run(c *cli.Context) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.String("log-level"))); err != nil {
		return cli.Exit(fmt.Sprintf("okxsim: --log-level: %v", err), 2)
	}
	if err := cliutil.CheckListen("listen", c.String("listen")); err != nil {
		return cli.Exit("okxsim: "+err.Error(), 2)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	cfg := sim.Config{
		Instruments: c.Int("instruments"), Rate: c.Float64("rate"), Seed: c.Int64("seed"),
		Capture: c.String("capture"), CaptureSpeed: c.Float64("capture-speed"),
		APIKey: c.String("api-key"), APISecret: c.String("api-secret"), Passphrase: c.String("passphrase"),
		Checksum: c.Bool("checksum"), BookDepth: c.Int("book-depth"), EmbedSendTime: c.Bool("embed-send-time"),
		ListEvery: c.Duration("list-every"), Logger: log,
		Faults: sim.Faults{
			DropEvery: c.Duration("drop-every"), NoticeEvery: c.Duration("notice-every"),
			NoticeGrace: c.Duration("notice-grace"), IgnorePing: c.Bool("ignore-ping"),
			MalformedEvery: c.Int("malformed-every"), UnknownEvery: c.Int("unknown-every"),
			SlowRead: c.Duration("slow-read"), BookGapEvery: c.Int("book-gap-every"),
			BookDupEvery: c.Int("book-dup-every"), BookResetEvery: c.Int("book-reset-every"),
			BookBadChecksumEvery: c.Int("book-bad-checksum-every"), BookCrossedEvery: c.Int("book-crossed-every"),
			IdleClose: c.Duration("idle-close"), MaxConnPerSec: c.Int("max-conn-per-sec"),
			MaxSubsPerHour: c.Int("max-subs-per-hour"), BadValueEvery: c.Int("bad-value-every"),
			BombEvery: c.Int("bomb-every"), BombBytes: c.Int("bomb-bytes"),
		},
	}
	srv, err := sim.New(cfg)
	if err != nil {
		return cli.Exit("okxsim: "+err.Error(), 2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	addr, err := srv.Start(c.String("listen"))
	if err != nil {
		srv.Close()
		return err
	}
	log.Info("okxsim ready", "ws", "ws://"+addr+"/ws/v5/public", "rest", "http://"+addr)
	<-ctx.Done()
	srv.Close()
	line, err := json.Marshal(srv.Stats())
	if err != nil {
		return err
	}
	fmt.Println(string(line))
	return nil
}
