package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/okxtape/okxtape/store"
	chstore "github.com/okxtape/okxtape/store/clickhouse"
	"github.com/okxtape/okxtape/store/parquet"
)

const (
	defaultDiskLowMB      = 1024
	defaultDiskCriticalMB = 256
)

// storeFlags are the flags of the store side: file budget, free-space watermarks, dead letters.
func storeFlags(env func(string) []string) []cli.Flag {
	return []cli.Flag{
		&cli.DurationFlag{Name: "file-interval", Value: parquet.DefaultRotation, EnvVars: env("FILE_INTERVAL"), Usage: "time budget of a Parquet file: open files are written at each multiple of it (keeps the spool small)"},
		&cli.Int64Flag{Name: "disk-low-mb", Value: defaultDiskLowMB, EnvVars: env("DISK_LOW_MB"), Usage: "free space (MiB) below which raw frames, then quotes, are shed (dropped and counted); 0: off"},
		&cli.Int64Flag{Name: "disk-critical-mb", Value: defaultDiskCriticalMB, EnvVars: env("DISK_CRITICAL_MB"), Usage: "free space (MiB) below which nothing is recorded (loud error, exit 1); record refuses to start below it; 0: off"},
		&cli.IntFlag{Name: "parquet-buffer-mb", Value: 24, EnvVars: env("PARQUET_BUFFER_MB"), Usage: "memory budget (MiB) of the rows waiting for their Parquet row groups; larger: fewer, bigger row groups and less CPU, more memory (raise --memory-limit-mb with it)"},
		&cli.StringFlag{Name: "dead-letter-dir", EnvVars: env("DEAD_LETTER_DIR"), Usage: "where batches a sink rejects permanently are written as Parquet (default: SPOOL/deadletter)"},
	}
}

// storeExitCode: a bad store flag or another recorder holding the folder is a usage error (2); anything else
// failed the job (1).
func storeExitCode(err error) int {
	var locked *store.LockedError
	var ec cli.ExitCoder
	switch {
	case errors.As(err, &locked):
		return 2
	case errors.As(err, &ec):
		return ec.ExitCode()
	}
	return 1
}

// openRecorder locks the store folder, opens the sinks and the spool, and starts the recorder.
func openRecorder(ctx context.Context, c *cli.Context, log *slog.Logger) (*store.Recorder, error) {
	low, crit := c.Int64("disk-low-mb"), c.Int64("disk-critical-mb")
	if low < 0 || crit < 0 || (low > 0 && crit > low) {
		return nil, cli.Exit("--disk-low-mb and --disk-critical-mb must be >= 0, critical below low", 2)
	}
	if c.Duration("file-interval") < time.Second {
		return nil, cli.Exit("--file-interval must be at least 1s", 2)
	}
	if mb := c.Int("parquet-buffer-mb"); mb < 1 || mb > 1<<20 {
		return nil, cli.Exit("--parquet-buffer-mb must be between 1 and 1048576", 2)
	}
	var sinks []store.Sink
	out := c.String("out")
	spool := c.String("spool-dir")
	if spool == "" {
		spool = "./spool"
		if out != "" {
			spool = filepath.Join(out, ".spool")
		}
	}
	var outLock *store.DirLock
	var watch []string
	if out != "" {
		if filepath.Clean(out) != filepath.Clean(spool) {
			l, err := store.LockDir(out)
			if err != nil {
				return nil, err
			}
			outLock = l
		}
		sinks = append(sinks, parquet.NewSink(out, parquet.Options{Rotation: c.Duration("file-interval"), Logger: log,
			MaxBufferedBytes: c.Int("parquet-buffer-mb") << 20}))
		watch = append(watch, out)
	}
	if dsn := c.String("clickhouse"); dsn != "" {
		ch, err := chstore.NewSink(dsn, chstore.Options{Logger: log})
		if err != nil {
			_ = outLock.Release()
			return nil, fmt.Errorf("clickhouse sink: %w", err)
		}
		sinks = append(sinks, ch)
	}
	if len(sinks) == 0 {
		return nil, errors.New("no sink: give --out and/or --clickhouse, or --no-store")
	}
	dead := c.String("dead-letter-dir")
	if dead == "" {
		dead = filepath.Join(spool, "deadletter")
	}
	rec, err := store.NewRecorder(store.RecorderOptions{
		SpoolDir: spool, BatchSize: c.Int("batch-size"), FlushInterval: c.Duration("flush-interval"), Logger: log,
		DeadLetter: parquet.DeadLetter(dead, parquet.Options{Logger: log}), WatchDirs: watch,
		DiskLowBytes: low << 20, DiskCriticalBytes: crit << 20,
	}, sinks...)
	if err == nil {
		err = rec.Start(ctx)
		if err != nil {
			_ = rec.Close(context.Background())
		}
	}
	if err != nil {
		_ = outLock.Release()
		return nil, err
	}
	rec.OnClose(func() { _ = outLock.Release() })
	return rec, nil
}
