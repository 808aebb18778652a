package main

import (
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/okxtape/okxtape/internal/cliutil"
)

// minStatsInterval keeps --stats-interval from flooding the log (1ns wrote 128k lines in 2 s).
const minStatsInterval = time.Second

// validate checks the flags that parse but make no sense, before anything is opened: each refusal names
// its flag and exits 2.
func validate(c *cli.Context) error {
	checks := []error{
		cliutil.CheckDuration("duration", c.Duration("duration"), 0, true),
		cliutil.CheckDuration("connect-timeout", c.Duration("connect-timeout"), time.Millisecond, false),
		cliutil.CheckDuration("flush-interval", c.Duration("flush-interval"), time.Millisecond, false),
		cliutil.CheckDuration("stats-interval", c.Duration("stats-interval"), minStatsInterval, true),
		cliutil.CheckInt("batch-size", c.Int("batch-size"), 1, 1<<20),
		cliutil.CheckGC(c.Int("gc-percent"), c.Int("memory-limit-mb"), os.Getenv("GOMEMLIMIT")),
	}
	if dsn := c.String("clickhouse"); dsn != "" {
		checks = append(checks, cliutil.CheckClickHouseDSN("clickhouse", dsn))
	}
	for _, err := range checks {
		if err != nil {
			return cli.Exit("record: "+err.Error(), 2)
		}
	}
	return nil
}
