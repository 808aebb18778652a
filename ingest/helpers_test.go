package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/okxtape/okxtape/ingest/decode"
	"github.com/okxtape/okxtape/internal/testenv"
	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/sim"
)

// rec collects what a Client emits.
type rec struct {
	mu           sync.Mutex
	seq          uint64
	kinds        map[schema.Kind]int
	raw          map[string]int             // raw frames per channel
	trades       map[string]map[int64]int64 // instId -> tradeId -> count (trades aggregated into it)
	tradeDups    int
	rawEvents    int            // raw frames that are control messages (must stay 0)
	books        map[string]int // books emitted by the manager per channel
	tickerSeen   map[string]bool
	tickerDups   int              // tickers emitted twice (same instId, ts and values)
	bookLast     map[string]int64 // last emitted seqId per channel|instId
	bookBack     int              // books emitted with a seqId below the last one (no resets in these tests)
	connected    []schema.Connected
	disconnected []schema.Disconnected
	gaps         []schema.Gap
	subscribed   []schema.Subscribed
	xerrs        []schema.ExchangeError
}

func newRec() *rec {
	return &rec{kinds: map[schema.Kind]int{}, raw: map[string]int{}, trades: map[string]map[int64]int64{},
		books: map[string]int{}, tickerSeen: map[string]bool{}, bookLast: map[string]int64{}}
}

func (r *rec) emit(ev schema.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.kinds[ev.Kind()]++
	if _, ok := ev.(*schema.Raw); ok && ev.Hdr().Seq != 0 {
		panic("raw event reused with a stale Seq")
	}
	if ev.Hdr().Seq == 0 { // like the engine
		r.seq++
		ev.Hdr().Seq = r.seq
	}
	switch e := ev.(type) {
	case *schema.Raw:
		r.raw[e.Channel]++
		if strings.Contains(e.Frame, `"event"`) || strings.Contains(e.Frame, "login") {
			r.rawEvents++
		}
	case *schema.Trade:
		m := r.trades[e.InstID]
		if m == nil {
			m = map[int64]int64{}
			r.trades[e.InstID] = m
		}
		if _, dup := m[e.TradeID]; dup {
			r.tradeDups++
		}
		m[e.TradeID] = e.Count
	case *schema.Book:
		r.books[e.Channel]++
		k := e.Channel + "|" + e.InstID
		if last, ok := r.bookLast[k]; ok && e.SeqID < last {
			r.bookBack++
		}
		r.bookLast[k] = e.SeqID
	case *schema.Ticker:
		// The same ticker: same ts and values (the simulator may stamp two ticks of a late timer alike).
		k := fmt.Sprint(e.InstID, e.Ts, e.Last, e.LastSz, e.BidPx, e.BidSz, e.AskPx, e.AskSz, e.Vol24h)
		if r.tickerSeen[k] {
			r.tickerDups++
		}
		r.tickerSeen[k] = true
	case *schema.Connected:
		r.connected = append(r.connected, *e)
	case *schema.Disconnected:
		r.disconnected = append(r.disconnected, *e)
	case *schema.Gap:
		r.gaps = append(r.gaps, *e)
	case *schema.Subscribed:
		r.subscribed = append(r.subscribed, *e)
	case *schema.ExchangeError:
		r.xerrs = append(r.xerrs, *e)
	}
}

func (r *rec) count(k schema.Kind) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.kinds[k]
}

func (r *rec) gapsWith(reason string) []schema.Gap {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []schema.Gap
	for _, g := range r.gaps {
		if g.Reason == reason {
			out = append(out, g)
		}
	}
	return out
}

func startSim(t *testing.T, cfg sim.Config) (*sim.Server, string) {
	t.Helper()
	srv, err := sim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	addr, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv, addr
}

// harness runs a Client against a simulator address until stop is called.
type harness struct {
	t      *testing.T
	c      *Client
	r      *rec
	logs   *testenv.LogBuffer
	cancel context.CancelFunc
	done   chan error
}

func testConfig(addr string, subs []decode.Arg) Config {
	return Config{WSURL: "ws://" + addr, RESTURL: "http://" + addr, Subscriptions: subs,
		PingAfter: 2 * time.Second, PongTimeout: time.Second, ConnectTimeout: 5 * time.Second,
		AckTimeout: 2 * time.Second, MaxConnPerSec: 3, RawFrames: true,
		Backoff: BackoffConfig{Initial: 20 * time.Millisecond, Max: 200 * time.Millisecond}}
}

func run(t *testing.T, cfg Config) *harness {
	t.Helper()
	h := &harness{t: t, r: newRec(), logs: &testenv.LogBuffer{}, done: make(chan error, 1)}
	cfg.Emit = h.r.emit
	cfg.Logger = slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.c = c
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { h.done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-h.done:
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after cancel")
		}
		if t.Failed() {
			t.Logf("client log:\n%s", h.logs.String())
		}
	})
	return h
}

// stop cancels the client and returns Run's result.
func (h *harness) stop() error {
	h.t.Helper()
	h.cancel()
	select {
	case err := <-h.done:
		h.done <- err // for Cleanup
		return err
	case <-time.After(10 * time.Second):
		h.t.Fatal("Run did not return after cancel")
		return nil
	}
}

// waitFor polls cond until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	testenv.Eventually(t, d, cond, "waiting for %s", what)
}

// up reports whether the client has n connections up.
func (h *harness) up(n int) func() bool {
	return func() bool { return h.c.Stats().Connections == n }
}

// compareWithSim checks that every data frame and item the simulator wrote reached the client: raw frames per
// channel equal sim frames, decoded events per channel equal sim items. Call after the sim was closed.
func compareWithSim(t *testing.T, h *harness, srv *sim.Server) {
	t.Helper()
	st := srv.Stats()
	var last string
	ok := func() bool {
		cs := h.c.Stats()
		h.r.mu.Lock()
		defer h.r.mu.Unlock()
		for ch, n := range st.Frames {
			if uint64(h.r.raw[ch]) != n || cs.Frames[ch] != n || cs.Events[ch] != st.Items[ch] {
				last = ch + ": sim frames/items " + itoa(n) + "/" + itoa(st.Items[ch]) + ", client raw/frames/events " +
					itoa(uint64(h.r.raw[ch])) + "/" + itoa(cs.Frames[ch]) + "/" + itoa(cs.Events[ch])
				return false
			}
		}
		return true
	}
	if !testenv.WaitFor(3*time.Second, ok) {
		t.Fatalf("client did not receive everything the sim sent: %s", last)
	}
	if len(st.Frames) == 0 {
		t.Fatal("sim sent no data")
	}
}

func itoa(n uint64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}

func assertNoSecrets(t *testing.T, text string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(text, s) {
			t.Fatalf("secret %q appears in output", s)
		}
	}
}

func sub(channel, instID string) decode.Arg { return decode.Arg{Channel: channel, InstID: instID} }
