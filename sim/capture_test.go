package sim

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/okxtape/okxtape/internal/testenv"
)

var captureFixture = filepath.Join("..", "..", "shared", "fixtures", "okx", "OKX.ws.1.0")

func TestReadCapture(t *testing.T) {
	b, err := os.ReadFile(captureFixture)
	if err != nil {
		testenv.Fixtures.Missing(t, err)
	}
	frames, err := ReadCapture(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, in := 0, 0
	for _, f := range frames {
		if f.URL != "wss://ws.okx.com:8443/ws/v5/public" {
			t.Fatalf("url %q", f.URL)
		}
		if f.Outgoing {
			out++
		} else {
			in++
		}
	}
	if out != 3 || in != 410 {
		t.Fatalf("outgoing %d incoming %d, want 3/410", out, in)
	}
	if got := frames[0].At.UnixNano(); got != 1652459225298788300 {
		t.Fatalf("first frame time %d", got)
	}
	ix := newCaptureIndex(frames)
	total := 0
	for _, s := range ix.streams {
		total += len(s)
	}
	if total != 392 || len(ix.streams["books|BTC-USDT"]) == 0 || len(ix.instIDs) != 3 {
		t.Fatalf("index: %d pushes, ids %v", total, ix.instIDs)
	}
	for _, bad := range []string{"garbage line\n", "123.4 {\"a\":1}\n", "x.y: {}\n"} {
		if _, err := ReadCapture(strings.NewReader(bad)); err == nil {
			t.Errorf("ReadCapture(%q) accepted", bad)
		}
	}
}

func TestCaptureModeServesFramesInOrder(t *testing.T) {
	if _, err := os.Stat(captureFixture); err != nil {
		testenv.Fixtures.Missing(t, err)
	}
	s, addr := startSim(t, Config{Capture: captureFixture})
	c := dial(t, addr, "public")
	c.send(`{"id":"1","op":"subscribe","args":[{"channel":"books","instId":"BTC-USDT"},{"channel":"trades","instId":"BTC-USDT"}]}`)
	c.next(time.Second, isEvent("subscribe"))
	c.next(time.Second, isEvent("subscribe"))
	// Expected: the captured pushes of both streams, in capture order, byte for byte.
	var want [][]byte
	for _, f := range s.capture.all() {
		if f.key == "books|BTC-USDT" || f.key == "trades|BTC-USDT" {
			want = append(want, f.data)
		}
	}
	if len(want) < 50 {
		t.Fatalf("only %d captured frames", len(want))
	}
	for i, w := range want {
		got := c.read(2 * time.Second)
		if !bytes.Equal(got, w) {
			t.Fatalf("frame %d:\n got %.200s\nwant %.200s", i, got, w)
		}
	}
	c.send(`{"op":"subscribe","args":[{"channel":"books","instId":"ETH-USDT"}]}`)
	if e := c.next(time.Second, isEvent("error")); e.Code != "60018" {
		t.Fatalf("uncaptured instrument: %s", e.raw)
	}
	if st := s.Stats(); st.Frames["books"]+st.Frames["trades"] != uint64(len(want)) {
		t.Fatalf("stats %v, want %d frames", st.Frames, len(want))
	}
}

func TestCaptureSpeed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cap")
	capture := "wss://ws.okx.com:8443/ws/v5/public <-> 1000.0\n" +
		`1000.5: {"arg":{"channel":"tickers","instId":"X-USDT"},"data":[{"instId":"X-USDT","last":"1"}]}` + "\n" +
		`1002.5: {"arg":{"channel":"tickers","instId":"X-USDT"},"data":[{"instId":"X-USDT","last":"2"}]}` + "\n"
	if err := os.WriteFile(path, []byte(capture), 0o600); err != nil {
		t.Fatal(err)
	}
	_, addr := startSim(t, Config{Capture: path, CaptureSpeed: 10})
	c := dial(t, addr, "public")
	c.send(`{"op":"subscribe","args":[{"channel":"tickers","instId":"X-USDT"}]}`)
	c.next(time.Second, isEvent("subscribe"))
	c.next(time.Second, isPush("tickers"))
	start := time.Now()
	c.next(time.Second, isPush("tickers"))
	if d := time.Since(start); d < 150*time.Millisecond || d > 600*time.Millisecond {
		t.Fatalf("2 s captured gap at speed 10 took %v, want ≈ 200ms", d)
	}
}
