package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/okxtape/okxtape/internal/testenv"
	"github.com/okxtape/okxtape/store/parquet"

	"github.com/gorilla/websocket"
	"github.com/urfave/cli/v2"

	"github.com/okxtape/okxtape/replay"
	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/store"
)

const t0 = int64(1_780_000_000_000)

func init() {
	// The CLI library exits the process on an ExitCoder; in tests the code is read from the error instead.
	cli.OsExiter = func(int) {}
	cli.ErrWriter = io.Discard
}

// writeStore writes tickers and trades for two instruments, their raw frames and a session row.
func writeStore(t *testing.T, dir string) {
	t.Helper()
	ctx := context.Background()
	sink := parquet.NewSink(dir, parquet.Options{})
	if err := sink.Open(ctx); err != nil {
		t.Fatal(err)
	}
	byKind := map[schema.Kind][]schema.Stored{}
	add := func(e schema.Stored) { byKind[e.Kind()] = append(byKind[e.Kind()], e) }
	seq := uint64(100)
	add(&schema.Session{Header: schema.Header{Seq: seq, Ts: t0}, SessionID: "s", StartMs: t0,
		Channels: "tickers,trades", Instruments: "BTC-USDT,ETH-USDT"})
	for i := 0; i < 100; i++ {
		inst := []string{"BTC-USDT", "ETH-USDT"}[i%2]
		h := schema.Header{Channel: "tickers", InstID: inst, Ts: t0 + int64(i)*10}
		var e schema.Stored = &schema.Ticker{Header: h, InstType: "SPOT", Last: float64(100 + i), BidPx: 99, AskPx: 101}
		if i%5 == 0 {
			h.Channel = "trades"
			e = &schema.Trade{Header: h, TradeID: int64(i), Px: 100, Sz: 1, Side: "buy", Count: 1}
		}
		frame, _ := replay.AppendPush(nil, e)
		seq++
		add(&schema.Raw{Header: schema.Header{Seq: seq, Channel: h.Channel, InstID: inst, Ts: h.Ts + 1},
			Endpoint: schema.EndpointPublic, Frame: string(frame)})
		seq++
		e.Hdr().Seq = seq
		add(e)
	}
	for k, evs := range byKind {
		if err := sink.Write(ctx, store.Batch{Table: schema.TableOf(k), Events: evs}); err != nil {
			t.Fatal(err)
		}
	}
	if err := sink.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// runApp runs the CLI in-process and returns its stdout and the exit code.
func runApp(t *testing.T, ctx context.Context, args ...string) (string, int) {
	t.Helper()
	out, _, code := testenv.RunCLI(t, ctx, newApp(), append([]string{"replay"}, args...)...)
	return out, code
}

func lastJSON(t *testing.T, out string) map[string]any {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var m map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &m); err != nil {
		t.Fatalf("summary %q: %v", out, err)
	}
	return m
}

func TestRunSummaryAndSelection(t *testing.T) {
	dir := t.TempDir()
	writeStore(t, dir)
	out, code := runApp(t, context.Background(), "run", "--data", dir, "--strategy", "digest,stats", "--speed", "max", "--log-level", "warn")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	m := lastJSON(t, out)
	if m["events"].(float64) != 100 {
		t.Fatalf("events %v", m["events"])
	}
	ch := m["channels"].(map[string]any)
	if ch["tickers"].(float64) != 80 || ch["trades"].(float64) != 20 {
		t.Fatalf("channels %v", ch)
	}
	d := m["strategies"].(map[string]any)["digest"].(map[string]any)["digest"].(string)
	if len(d) != 64 {
		t.Fatalf("digest %q", d)
	}
	for _, k := range []string{"wall_s", "events_per_s"} {
		if _, ok := m[k]; !ok {
			t.Fatalf("summary lacks %s: %v", k, m)
		}
	}
	// Selection: one instrument, one channel, a time window.
	from := time.UnixMilli(t0 + 200).UTC().Format(time.RFC3339Nano)
	to := time.UnixMilli(t0 + 600).UTC().Format(time.RFC3339Nano)
	out, code = runApp(t, context.Background(), "run", "--data", dir, "--inst", "ETH-USDT", "--channels", "tickers",
		"--from", from, "--to", to, "--strategy", "print", "--log-level", "warn")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	m = lastJSON(t, out)
	if m["events"].(float64) != 16 || strings.Count(out, "ticker ETH-USDT") != 16 || strings.Contains(out, "BTC-USDT") {
		t.Fatalf("selection gave %v events:\n%s", m["events"], out)
	}
}

func TestUsageErrorsExit2(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"run", "--data", dir, "--speed", "fast"},
		{"run", "--data", dir, "--from", "yesterday"},
		{"run", "--data", dir, "--strategy", "nosuch"},
		{"run", "--data", filepath.Join(dir, "missing")},
		{"run", "--nosuchflag"},
		{"run", "--data", dir, "--speed", "1e-300"},
		{"serve", "--data", dir, "--speed", "0.0000001"},
		{"serve", "--data", dir, "--listen", "abc"},
		{"serve", "--data", dir, "--listen", "127.0.0.1:99999"},
		{"run", "--clickhouse", "http://x"},
		{"run", "--clickhouse", "clickhouse://127.0.0.1:9000"},
		{"run", "--data", dir, "--channels", "tickers,nosuch"},
		{"report", "--data", dir, "--channels", "ticker"},
	} {
		if _, code := runApp(t, context.Background(), args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}

func TestServeCommand(t *testing.T) {
	dir := t.TempDir()
	writeStore(t, dir)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	go func() {
		_, code := runApp(t, ctx, "serve", "--data", dir, "--listen", addr, "--speed", "max", "--log-level", "warn")
		done <- code
	}()
	defer func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("serve exited %d", code)
		}
	}()
	var c *websocket.Conn
	testenv.WaitFor(5*time.Second, func() bool {
		c, _, err = websocket.DefaultDialer.Dial("ws://"+addr+"/ws/v5/public", nil)
		return err == nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.WriteMessage(websocket.TextMessage, []byte(`{"op":"subscribe","args":[{"channel":"trades","instId":"BTC-USDT"}]}`)); err != nil {
		t.Fatal(err)
	}
	var frames []string
	for len(frames) < 11 { // ack + 10 BTC trades (i = 0, 10, 20, ... 90)
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, b, err := c.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		frames = append(frames, string(b))
	}
	if !strings.Contains(frames[0], `"event":"subscribe"`) {
		t.Fatalf("ack %s", frames[0])
	}
	for _, f := range frames[1:] {
		if !strings.HasPrefix(f, `{"arg":{"channel":"trades","instId":"BTC-USDT"}`) {
			t.Fatalf("frame %s", f)
		}
	}
}

func TestRenormaliseCommand(t *testing.T) {
	dir := t.TempDir()
	writeStore(t, dir)
	out, code := runApp(t, context.Background(), "renormalise", "--data", dir, "--log-level", "warn")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	m := lastJSON(t, out)["renormalise"].(map[string]any)
	if m["frames"].(float64) != 100 || m["out"] != filepath.Clean(dir)+"-renormalised" {
		t.Fatalf("summary %v", m)
	}
	defer os.RemoveAll(filepath.Clean(dir) + "-renormalised")
	a, _ := runApp(t, context.Background(), "run", "--data", dir, "--strategy", "digest", "--log-level", "warn")
	b, _ := runApp(t, context.Background(), "run", "--data", m["out"].(string), "--strategy", "digest", "--log-level", "warn")
	dg := func(s string) any { return lastJSON(t, s)["strategies"].(map[string]any)["digest"] }
	if !bytes.Equal(mustJSON(dg(a)), mustJSON(dg(b))) {
		t.Fatalf("digests differ:\n%v\n%v", dg(a), dg(b))
	}
}

func mustJSON(v any) []byte { b, _ := json.Marshal(v); return b }

// TestJobFailuresExit1: a replay that cannot read what was asked, or finds nothing in the range, exits 1 with
// a message saying so (it used to exit 0 with fewer or no events).
func TestJobFailuresExit1(t *testing.T) {
	dir := t.TempDir()
	writeStore(t, dir)
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"future dates", []string{"run", "--data", dir, "--from", "2099-01-01", "--to", "2099-01-02"}},
		{"unknown instrument", []string{"run", "--data", dir, "--inst", "NOPE-USDT"}},
		{"unknown channel", []string{"run", "--data", dir, "--channels", "candle1m"}},
	} {
		out, code := runApp(t, context.Background(), append(tc.args, "--log-level", "error")...)
		if code != 1 || strings.Contains(out, "0001-01-01") {
			t.Errorf("%s: exit %d, out %q", tc.name, code, out)
		}
	}
	// An unreadable dataset is an error, not a silent skip. Root reads a chmod 000 folder, so a date
	// partition that is a file stands in for it there.
	days, err := filepath.Glob(filepath.Join(dir, "tickers", "date=*"))
	if err != nil || len(days) == 0 {
		t.Fatalf("no tickers partition: %v", err)
	}
	if os.Geteuid() == 0 {
		bad := filepath.Join(dir, "tickers", "date=2026-01-01")
		if err := os.WriteFile(bad, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	} else {
		if err := os.Chmod(days[0], 0); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(days[0], 0o755) })
	}
	if _, code := runApp(t, context.Background(), "run", "--data", dir, "--log-level", "error"); code != 1 {
		t.Errorf("unreadable dataset: exit %d, want 1", code)
	}
}
