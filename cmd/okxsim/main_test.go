package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/okxtape/okxtape/internal/testenv"
	"github.com/okxtape/okxtape/sim"
	"github.com/urfave/cli/v2"
)

// TestRunPrintsStatsOnSignal starts the CLI in-process with flags from the environment, waits for it to
// serve, sends SIGINT and expects exactly one JSON Stats line on stdout.
func TestRunPrintsStatsOnSignal(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	t.Setenv("OKXSIM_LISTEN", addr)
	t.Setenv("OKXSIM_RATE", "50")
	t.Setenv("OKXSIM_LOG_LEVEL", "error")

	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = w
	defer func() { os.Stdout = stdout }()

	done := make(chan error, 1)
	go func() { done <- newApp().Run([]string{"okxsim", "--instruments", "3", "--checksum"}) }()

	var st sim.Stats
	var resp *http.Response
	if !testenv.WaitFor(5*time.Second, func() bool {
		var err error
		resp, err = http.Get("http://" + addr + "/stats")
		return err == nil
	}) {
		t.Fatal("okxsim did not start")
	}
	err = json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	var inst struct{ Data []any }
	resp, err = http.Get("http://" + addr + "/api/v5/public/instruments?instType=SWAP")
	if err != nil {
		t.Fatal(err)
	}
	_ = json.NewDecoder(resp.Body).Decode(&inst)
	resp.Body.Close()
	if len(inst.Data) != 3 {
		t.Fatalf("--instruments 3: %d SWAP instruments", len(inst.Data))
	}

	if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no exit after SIGINT")
	}
	w.Close()
	out, _ := io.ReadAll(r)
	var final sim.Stats
	if err := json.Unmarshal(out, &final); err != nil || final.Frames == nil {
		t.Fatalf("stdout %q is not one Stats JSON line: %v", out, err)
	}
	if len(out) == 0 || out[len(out)-1] != '\n' || countLines(out) != 1 {
		t.Fatalf("stdout %q: want exactly one line", out)
	}
}

func countLines(b []byte) int {
	n := 0
	for _, c := range b {
		if c == '\n' {
			n++
		}
	}
	return n
}

// TestBadFlagsExit2: a bad flag is one line on stderr and exit 2, not the whole help and exit 1.
func TestBadFlagsExit2(t *testing.T) {
	cli.OsExiter = func(int) {}
	var help bytes.Buffer
	app := newApp()
	app.Writer, app.ErrWriter = &help, &help
	for _, args := range [][]string{{"--nosuch"}, {"--rate", "fast"}, {"--listen", "abc"}, {"--log-level", "loud"},
		{"--capture-speed", "-1"}} {
		err := app.Run(append([]string{"okxsim"}, args...))
		var ec cli.ExitCoder
		if !errors.As(err, &ec) || ec.ExitCode() != 2 || strings.Contains(ec.Error(), "\n") {
			t.Errorf("%v: %v, want exit 2 with one line", args, err)
		}
	}
	if strings.Contains(help.String(), "GLOBAL OPTIONS") {
		t.Errorf("usage errors printed the help:\n%s", help.String())
	}
}

// TestHelp: each default is shown once, and there is no command placeholder or help subcommand.
func TestHelp(t *testing.T) { testenv.CheckHelp(t, newApp(), "okxsim") }
