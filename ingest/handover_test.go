package ingest

import (
	"errors"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/okxtape/okxtape/ingest/decode"
	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/sim"
)

// TestHandoverWindow drives the dedupe window of a slot with two connections directly: what the other
// connection already delivered is dropped and counted, what the same connection repeats is kept, the old
// connection's latest value from before the window counts as delivered, and once the window expires
// nothing is filtered.
func TestHandoverWindow(t *testing.T) {
	c := &Client{}
	s := &slot{c: c}
	oldC := &conn{c: c, s: s, lastIDs: map[streamKey]uint64{}, done: make(chan struct{})}
	newC := &conn{c: c, s: s, lastIDs: map[streamKey]uint64{}, done: make(chan struct{})}
	tick := func(ts int64) *schema.Ticker {
		return &schema.Ticker{Header: schema.Header{Channel: "tickers", InstID: "BTC-USDT", Ts: ts, RecvNs: time.Now().UnixNano()}, Last: float64(ts)}
	}
	trade := func(id int64) *schema.Trade {
		return &schema.Trade{Header: schema.Header{Channel: "trades", InstID: "BTC-USDT", Ts: 5, RecvNs: time.Now().UnixNano()}, TradeID: id, Px: 1, Sz: 1}
	}
	steps := []struct {
		name string
		cn   *conn
		ev   schema.Event
		want bool
	}{
		{"old before the window", oldC, tick(1), true},
		{"open", nil, nil, false},
		{"new repeats the old's latest ticker", newC, tick(1), false},
		{"new is first with ts 2", newC, tick(2), true},
		{"old delivers ts 2 again", oldC, tick(2), false},
		{"old is first with ts 3", oldC, tick(3), true},
		{"old repeats ts 3 itself", oldC, tick(3), true},
		{"new delivers ts 3", newC, tick(3), false},
		{"new trade 7", newC, trade(7), true},
		{"old trade 7", oldC, trade(7), false},
		{"old trade 8", oldC, trade(8), true},
		{"close", nil, nil, false},
		{"new trade 8 within the grace", newC, trade(8), false},
	}
	var w *handoverWindow
	for _, st := range steps {
		switch st.name {
		case "open":
			w = s.beginHandover(oldC)
			continue
		case "close":
			s.endHandover(w, oldC)
			close(oldC.done)
			continue
		}
		if got := st.cn.admit(st.ev); got != st.want {
			t.Fatalf("%s: admit %v, want %v", st.name, got, st.want)
		}
	}
	dups := c.handoverDups.snapshot()
	if dups["tickers"] != 3 || dups["trades"] != 2 {
		t.Fatalf("duplicates %v", dups)
	}
	for !w.expired(time.Now().Add(handoverGrace + time.Second)) { // the closing goroutine runs soon
		time.Sleep(time.Millisecond)
	}
	w.closeIn(-time.Second) // pretend the grace has passed
	if !newC.admit(trade(8)) || s.window.Load() != nil {
		t.Fatal("an expired window still filters")
	}
}

// TestRunRefusedAndNeverConnected: Run tells the truth about a run that could record nothing.
func TestRunRefusedAndNeverConnected(t *testing.T) {
	t.Run("every subscription refused", func(t *testing.T) {
		_, addr := startSim(t, sim.Config{Rate: 20})
		h := run(t, testConfig(addr, []decode.Arg{sub("tickers", "NOPE-USDT"), sub("no-such-channel", "BTC-USDT"),
			sub("candle1m", "NOPE-USDT")}))
		select {
		case err := <-h.done:
			h.done <- err
			if !errors.Is(err, ErrAllRefused) || !strings.Contains(err.Error(), "60018") {
				t.Fatalf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Run did not fail")
		}
	})
	t.Run("one good subscription is enough", func(t *testing.T) {
		_, addr := startSim(t, sim.Config{Rate: 20})
		h := run(t, testConfig(addr, []decode.Arg{sub("tickers", "NOPE-USDT"), sub("tickers", "BTC-USDT")}))
		waitFor(t, 5*time.Second, "data", func() bool { return h.r.count(schema.KindTicker) > 0 })
		if err := h.stop(); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("never connected", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close() // nothing listens there
		h := run(t, testConfig(addr, []decode.Arg{sub("tickers", "BTC-USDT")}))
		time.Sleep(300 * time.Millisecond) // a few refused dials, well within ConnectTimeout
		err = h.stop()
		if !errors.Is(err, ErrNeverConnected) || !strings.Contains(err.Error(), "connection refused") {
			t.Fatalf("Run: %v", err)
		}
		if st := h.c.Stats(); st.ConnectionsOpened != 0 {
			t.Fatalf("stats %+v", st)
		}
	})
}

// BenchmarkAdmit is the per-event cost the handover dedupe adds to a value-channel event outside handovers
// (its identity is remembered to seed a later window); trades and books pay nothing then.
func BenchmarkAdmit(b *testing.B) {
	c := &Client{}
	cn := &conn{c: c, s: &slot{c: c}}
	tk := &schema.Ticker{Header: schema.Header{Channel: "tickers", InstID: "BTC-USDT", Ts: 1, RecvNs: 2}, Last: 1}
	b.ReportAllocs()
	for b.Loop() {
		tk.Ts++
		if !cn.admit(tk) {
			b.Fatal("dropped")
		}
	}
}

// TestShortLivedConnectionsBackOff: a server that drops every connection soon after it came up (as a message
// that kills the connection each time would) meets a growing wait, not a reconnect loop.
func TestShortLivedConnectionsBackOff(t *testing.T) {
	_, addr := startSim(t, sim.Config{Rate: 20, Faults: sim.Faults{DropEvery: 150 * time.Millisecond}})
	cfg := testConfig(addr, []decode.Arg{sub("tickers", "BTC-USDT")})
	cfg.Backoff = BackoffConfig{Initial: 100 * time.Millisecond, Max: 400 * time.Millisecond, Jitter: 0.01}
	h := run(t, cfg)
	re := regexp.MustCompile(`connection lost soon after it came up; waiting before reconnecting.* in=(\S+)`)
	var waits []time.Duration
	waitFor(t, 20*time.Second, "four waits", func() bool {
		waits = waits[:0]
		for _, m := range re.FindAllStringSubmatch(h.logs.String(), -1) {
			d, err := time.ParseDuration(m[1])
			if err != nil {
				t.Fatal(err)
			}
			waits = append(waits, d)
		}
		return len(waits) >= 4
	})
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(waits); i++ {
		if waits[i] < waits[i-1]*95/100 {
			t.Fatalf("the wait shrank: %v", waits)
		}
	}
	if waits[len(waits)-1] < 350*time.Millisecond {
		t.Fatalf("the wait did not grow to the maximum: %v", waits)
	}
}
