package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

type summary map[string]any

func (s summary) path(keys ...string) any {
	var cur any = map[string]any(s)
	for _, k := range keys {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[k]
	}
	return cur
}

func (s summary) str(keys ...string) string {
	v, _ := s.path(keys...).(string)
	return v
}

// channelDataset maps the channels these tests record to their dataset.
var channelDataset = map[string]string{
	"tickers": "tickers", "trades": "trades", "candle1m": "candles", "books": "books", "books5": "books", "bbo-tbt": "books",
}

// TestRecordReplayParity: simulator → record (Parquet) → replay. Every data item the simulator sent is a
// stored row, and the live and replayed digests agree.
func TestRecordReplayParity(t *testing.T) {
	out := t.TempDir()
	s := startSim(t, "--instruments", "3", "--rate", "20")
	mflag, metrics := metricsFlag(t)
	rec := start(t, nil, "record", append([]string{"--ws-url", s.ws(), "--rest-url", s.rest(),
		"--channels", "tickers,trades,candle1m,books,books5,bbo-tbt", "--inst", "BTC-USDT,ETH-USDT",
		"--strategy", "digest", "--out", out, "--flush-interval", "200ms", "--log-level", "warn"}, mflag...)...)
	s.waitSent(t, 40, "tickers", "trades", "candle1m", "books", "books5", "bbo-tbt")
	sent := s.finish() // stop the source first: the client reads everything already on the wire
	waitDrained(t, metrics, sent)
	live := rec.end(0)

	for ch, ds := range channelDataset {
		got := storedRows(t, out, ds, "")[ch]
		if got == 0 || got != sent.Items[ch] {
			t.Errorf("channel %s: simulator sent %d items, %d rows stored", ch, sent.Items[ch], got)
		}
	}
	if q := storedRows(t, out, "quotes", ""); q["books"] == 0 || q["books5"] == 0 {
		t.Errorf("no derived quotes stored: %v", q)
	}
	if raw := storedRows(t, out, "raw", ""); raw["tickers"] != sent.Frames["tickers"] {
		t.Errorf("raw frames for tickers: %d stored, %d sent", raw["tickers"], sent.Frames["tickers"])
	}
	if sess := storedRows(t, out, "sessions", ""); sess[""] != 2 {
		t.Errorf("session ledger rows: %v, want 2 (start and clean stop)", sess)
	}
	// No temporary file is left behind under a final name.
	filepath.Walk(out, func(p string, fi os.FileInfo, err error) error {
		if err == nil && strings.HasSuffix(p, ".tmp") {
			t.Errorf("temporary file left: %s", p)
		}
		return nil
	})

	replayed, _ := replayDigest(t, out)
	requireParity(t, "record → replay", live, replayed)
	// A second replay of the same range is identical.
	again, _ := replayDigest(t, out)
	requireParity(t, "second replay", replayed, again)
}

// TestKill9LosesNothingSpooled: events spooled before a SIGKILL are in Parquet after the next start.
func TestKill9LosesNothingSpooled(t *testing.T) {
	out := t.TempDir()
	s := startSim(t, "--instruments", "2", "--rate", "20")
	mflag, metrics := metricsFlag(t)
	rec := start(t, nil, "record", append([]string{"--ws-url", s.ws(), "--rest-url", s.rest(), "--channels", "tickers,trades",
		"--inst", "BTC-USDT", "--out", out, "--log-level", "warn"}, mflag...)...)
	s.waitSent(t, 30, "tickers", "trades")
	sent := s.finish()
	waitDrained(t, metrics, sent)
	// The spool is fsync'd every 50 ms and says so nowhere outside: this sleep is that interval, many times over.
	time.Sleep(500 * time.Millisecond)
	rec.stop(syscall.SIGKILL, 10*time.Second)

	// Nothing was flushed to Parquet yet (a file is cut every --file-interval, 5 min by default, or at shutdown):
	// the data is in the spool.
	// A second run on the same folder recovers it before it connects (ETH-USDT only, so rows don't mix).
	s2 := startSim(t, "--instruments", "2", "--rate", "5")
	rec2 := start(t, nil, "record", "--ws-url", s2.ws(), "--rest-url", s2.rest(), "--channels", "tickers",
		"--inst", "ETH-USDT", "--out", out, "--duration", "2s", "--log-level", "warn")
	rec2.wait(60 * time.Second)
	if rec2.exitCode() != 0 {
		t.Fatalf("second record exit %d", rec2.exitCode())
	}
	for _, ch := range []string{"tickers", "trades"} {
		got := storedRows(t, out, ch, "BTC-USDT")[ch]
		if got != sent.Items[ch] {
			t.Errorf("%s: %d sent before the kill, %d stored after recovery", ch, sent.Items[ch], got)
		}
	}
}

// TestBadFlagsAndUnreachable: a usage error (a bad value, an unknown channel) exits 2 with a clear message;
// no exchange exits 1.
func TestBadFlagsAndUnreachable(t *testing.T) {
	p := start(t, nil, "record", "--batch-size", "lots")
	p.wait(20 * time.Second)
	if p.exitCode() != 2 || !strings.Contains(p.stderr.String(), "batch-size") {
		t.Fatalf("bad flag: exit %d, stderr %q", p.exitCode(), p.stderr.String())
	}
	p = start(t, nil, "record", "--channels", "tickers,nosuchchannel", "--out", t.TempDir())
	p.wait(20 * time.Second)
	if msg := p.stderr.String(); p.exitCode() != 2 || !strings.Contains(msg, `"nosuchchannel"`) ||
		!strings.Contains(msg, "books5") || !strings.Contains(msg, "candle<bar>") {
		t.Fatalf("unknown channel: exit %d, stderr %q", p.exitCode(), msg)
	}
	port := freePort(t)
	p = start(t, nil, "record", "--ws-url", "ws://127.0.0.1:"+itoa(port), "--rest-url", "http://127.0.0.1:"+itoa(port),
		"--connect-timeout", "2s", "--out", t.TempDir(), "--log-level", "warn")
	p.wait(30 * time.Second)
	if p.exitCode() != 1 {
		t.Fatalf("unreachable exchange: exit %d, want 1; stderr %s", p.exitCode(), tail(p.stderr.String(), 500))
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
