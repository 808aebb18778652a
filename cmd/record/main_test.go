package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/okxtape/okxtape/internal/testenv"

	"github.com/urfave/cli/v2"

	"github.com/okxtape/okxtape/sim"
)

func init() {
	// The CLI library exits the process on an ExitCoder; in tests the code is read from the error instead.
	cli.OsExiter = func(int) {}
	cli.ErrWriter = io.Discard
}

// runRecord runs the record CLI in-process and returns its stdout, its error message and its exit status.
func runRecord(t *testing.T, args ...string) (out, msg string, code int) {
	t.Helper()
	return testenv.RunCLI(t, context.Background(), newApp(), append([]string{"record", "--log-level", "error"}, args...)...)
}

// closedAddr returns a loopback address where nothing listens.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestBadFlagsExit2: flags that parse but make no sense are refused before anything starts, with exit 2 and
// a message naming the flag.
func TestBadFlagsExit2(t *testing.T) {
	ws := "ws://" + closedAddr(t)
	for _, tc := range []struct {
		args []string
		flag string
	}{
		{[]string{"--duration", "-5s"}, "--duration"},
		{[]string{"--batch-size", "-1"}, "--batch-size"},
		{[]string{"--batch-size", "0"}, "--batch-size"},
		{[]string{"--flush-interval", "-1s"}, "--flush-interval"},
		{[]string{"--gc-percent", "-1", "--memory-limit-mb", "0"}, "--gc-percent"},
		{[]string{"--gc-percent", "-5"}, "--gc-percent"},
		{[]string{"--memory-limit-mb", "-1"}, "--memory-limit-mb"},
		{[]string{"--stats-interval", "1ns"}, "--stats-interval"},
		{[]string{"--connect-timeout", "0s"}, "--connect-timeout"},
		{[]string{"--clickhouse", "http://x"}, "--clickhouse"},
		{[]string{"--clickhouse", "clickhouse://127.0.0.1:9000"}, "--clickhouse"},
		{[]string{"--clickhouse", "clickhouse://u:secret@127.0.0.1:9000/bad-name"}, "--clickhouse"},
		{[]string{"--log-level", "loud"}, "--log-level"},
		{[]string{"--nosuchflag"}, "nosuchflag"},
	} {
		_, msg, code := runRecord(t, append([]string{"--ws-url", ws, "--no-store"}, tc.args...)...)
		if code != 2 || !strings.Contains(msg, tc.flag) || strings.Count(msg, "\n") > 0 {
			t.Errorf("%v: exit %d, message %q; want 2 naming %s on one line", tc.args, code, msg, tc.flag)
		}
		if strings.Contains(msg, "secret") {
			t.Errorf("%v: the message repeats the password: %q", tc.args, msg)
		}
	}
}

// TestJobFailuresExit1: a run that could record nothing exits 1 and says why; a clean run exits 0.
func TestJobFailuresExit1(t *testing.T) {
	srv, err := sim.New(sim.Config{Rate: 20})
	if err != nil {
		t.Fatal(err)
	}
	addr, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	simArgs := []string{"--ws-url", "ws://" + addr, "--rest-url", "http://" + addr, "--no-store"}

	t.Run("never connected within --duration", func(t *testing.T) {
		_, msg, code := runRecord(t, "--ws-url", "ws://"+closedAddr(t), "--no-store", "--duration", "300ms",
			"--connect-timeout", "30s")
		if code != 1 || !strings.Contains(msg, "never connected") || !strings.Contains(msg, "--duration 300ms") {
			t.Fatalf("exit %d: %q", code, msg)
		}
	})
	t.Run("every subscription refused", func(t *testing.T) {
		_, msg, code := runRecord(t, append(simArgs, "--inst", "NOPE-USDT", "--duration", "10s")...)
		if code != 1 || !strings.Contains(msg, "refused") || !strings.Contains(msg, "60018") {
			t.Fatalf("exit %d: %q", code, msg)
		}
	})
	t.Run("clean run", func(t *testing.T) {
		out, msg, code := runRecord(t, append(simArgs, "--duration", "1s")...)
		if code != 0 {
			t.Fatalf("exit %d: %q", code, msg)
		}
		var sum struct {
			Ingest struct {
				Connections       int               `json:"connections"`
				ConnectionsOpened int               `json:"connections_opened"`
				Events            map[string]uint64 `json:"events"`
			} `json:"ingest"`
		}
		if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &sum); err != nil {
			t.Fatalf("summary %q: %v", out, err)
		}
		// connections is sampled as the stop begins, which races the duration timer closing the pool: 0 or 1.
		if sum.Ingest.Connections > 1 || sum.Ingest.ConnectionsOpened != 1 || sum.Ingest.Events["tickers"] == 0 {
			t.Fatalf("summary %s", out)
		}
	})
}

// TestHelp: each default is shown once, and there is no command placeholder or help subcommand.
func TestHelp(t *testing.T) { testenv.CheckHelp(t, newApp(), "record") }
