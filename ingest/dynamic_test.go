package ingest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/okxtape/okxtape/ingest/decode"
	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/sim"
)

// streamCounter counts events per channel|instId.
type streamCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (s *streamCounter) emit(ev schema.Event) {
	if _, ok := ev.(*schema.Raw); ok {
		return
	}
	s.mu.Lock()
	s.n[ev.Hdr().Channel+"|"+ev.Hdr().InstID]++
	s.mu.Unlock()
}

func (s *streamCounter) get(k string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n[k]
}

// TestAddRemoveWhileRunning: args added at run time start streaming, removed ones stop, and both survive a
// reconnect (the reconnection subscribes the slot's current list).
func TestAddRemoveWhileRunning(t *testing.T) {
	srv, addr := startSim(t, sim.Config{Rate: 40})
	cnt := &streamCounter{n: map[string]int{}}
	cfg := testConfig(addr, []decode.Arg{sub("tickers", "BTC-USDT")})
	cfg.Emit = cnt.emit
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	more := func(k string, n int) func() bool {
		base := cnt.get(k)
		return func() bool { return cnt.get(k) >= base+n }
	}
	waitFor(t, 5*time.Second, "BTC tickers", more("tickers|BTC-USDT", 3))

	if err := c.Add([]decode.Arg{sub("tickers", "ETH-USDT"), sub("books", "ETH-USDT"), sub("tickers", "BTC-USDT")}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "added ETH tickers", more("tickers|ETH-USDT", 3))
	waitFor(t, 5*time.Second, "added ETH books", more("books|ETH-USDT", 3))

	if err := c.Remove([]decode.Arg{sub("tickers", "BTC-USDT"), sub("trades", "NOT-SUBSCRIBED")}); err != nil {
		t.Fatal(err)
	}
	btc := cnt.get("tickers|BTC-USDT")
	waitFor(t, 5*time.Second, "ETH tickers after the removal", more("tickers|ETH-USDT", 20))
	// Pushes already on the wire when the unsubscribe was sent may still arrive; nothing after that.
	if n := cnt.get("tickers|BTC-USDT"); n > btc+3 {
		t.Fatalf("BTC tickers went on after Remove: %d -> %d", btc, n)
	}

	srv.DropConnections()
	if err := c.Add([]decode.Arg{sub("trades", "BTC-USDT")}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "trades added around a reconnect", more("trades|BTC-USDT", 3))
	waitFor(t, 5*time.Second, "ETH tickers after the reconnect", more("tickers|ETH-USDT", 20))
	if n := cnt.get("tickers|BTC-USDT"); n > btc+3 {
		t.Fatalf("the reconnect resubscribed a removed arg: %d -> %d", btc, n)
	}
	if c.Stats().Reconnects == 0 {
		t.Fatal("no reconnect happened")
	}
	if err := c.Add([]decode.Arg{sub("candle1m", "BTC-USDT")}); err == nil {
		t.Fatal("an arg of an endpoint without a connection was accepted")
	}
}
