package ingest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/okxtape/okxtape/ingest/decode"
	"github.com/okxtape/okxtape/schema"
	registry "github.com/okxtape/okxtape/schema/channels"
	"github.com/okxtape/okxtape/sim"
	"github.com/prometheus/client_golang/prometheus"
)

func TestSubscribeAcksAndErrors(t *testing.T) {
	_, addr := startSim(t, sim.Config{Rate: 20})
	subs := []decode.Arg{
		sub("tickers", "BTC-USDT"), sub("trades", "ETH-USDT"), sub("books", "BTC-USDT"),
		sub("candle1m", "BTC-USDT"),
		sub("tickers", "NOPE-USDT"), sub("no-such-channel", "BTC-USDT"),
	}
	h := run(t, testConfig(addr, subs))
	waitFor(t, 5*time.Second, "both connections up", h.up(2))
	waitFor(t, 3*time.Second, "data", func() bool {
		return h.r.count(schema.KindTicker) > 2 && h.r.count(schema.KindBook) > 2 && h.r.count(schema.KindQuote) > 2 &&
			h.r.count(schema.KindTrade) > 0
	})
	if err := h.stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	r := h.r
	got := map[string]bool{}
	for _, s := range r.subscribed {
		got[s.Channel+":"+s.InstID] = true
		if s.Conn == "" || s.Seq == 0 {
			t.Errorf("subscribed event without conn/seq: %+v", s)
		}
	}
	for _, want := range []string{"tickers:BTC-USDT", "trades:ETH-USDT", "books:BTC-USDT", "candle1m:BTC-USDT"} {
		if !got[want] {
			t.Errorf("no Subscribed for %s (got %v)", want, got)
		}
	}
	if len(r.xerrs) != 2 {
		t.Fatalf("exchange errors: %+v", r.xerrs)
	}
	errArgs := map[string]bool{}
	for _, e := range r.xerrs {
		if e.Code != "60018" || e.Conn != "public#0" || !strings.Contains(e.Msg, "doesn't exist") {
			t.Errorf("exchange error %+v", e)
		}
		errArgs[e.Channel+":"+e.InstID] = true
	}
	if !errArgs["tickers:NOPE-USDT"] || !errArgs["no-such-channel:BTC-USDT"] {
		t.Errorf("errors not matched to their args: %v", errArgs)
	}
	st := h.c.Stats()
	if st.ExchangeErrors["60018"] != 2 || st.Shards != 2 || st.Reconnects != 0 {
		t.Errorf("stats %+v", st)
	}
	if n := strings.Count(h.logs.String(), "code=60018"); n != 1 {
		t.Errorf("60018 logged %d times, want once", n)
	}
	if len(r.connected) != 2 || r.connected[0].Reconnect || len(r.disconnected) != 0 || len(r.gaps) != 0 {
		t.Errorf("connected %+v disconnected %+v gaps %+v", r.connected, r.disconnected, r.gaps)
	}
	if r.raw["tickers"] == 0 || r.raw["books"] == 0 || r.raw[""] != 0 {
		t.Errorf("raw frames %v", r.raw)
	}
}

func TestKeepalive(t *testing.T) {
	// The sim closes a connection after IdleClose without outbound frames (OKX: 30 s); data comes every 2 s.
	t.Run("pings keep a quiet connection open", func(t *testing.T) {
		_, addr := startSim(t, sim.Config{Rate: 0.5, Faults: sim.Faults{IdleClose: 400 * time.Millisecond}})
		cfg := testConfig(addr, []decode.Arg{sub("tickers", "BTC-USDT")})
		cfg.PingAfter, cfg.PongTimeout = 150*time.Millisecond, 200*time.Millisecond
		h := run(t, cfg)
		waitFor(t, 5*time.Second, "connection up", h.up(1))
		// Five pings span more than twice the idle time: the connection stayed open only through them.
		waitFor(t, 10*time.Second, "five pings", func() bool { return h.c.Stats().Pings >= 5 })
		st := h.c.Stats()
		if st.Pings < 5 || st.Reconnects != 0 || h.r.count(schema.KindDisconnected) != 0 {
			t.Fatalf("pings %d reconnects %d disconnected %d", st.Pings, st.Reconnects,
				h.r.count(schema.KindDisconnected))
		}
	})
	t.Run("without pings the server closes after its idle time", func(t *testing.T) {
		_, addr := startSim(t, sim.Config{Rate: 0.5, Faults: sim.Faults{IdleClose: 300 * time.Millisecond}})
		cfg := testConfig(addr, []decode.Arg{sub("tickers", "BTC-USDT")})
		cfg.PingAfter = time.Minute
		h := run(t, cfg)
		waitFor(t, 5*time.Second, "a reconnect", func() bool { return h.c.Stats().Reconnects >= 1 })
		h.r.mu.Lock()
		defer h.r.mu.Unlock()
		if len(h.r.disconnected) == 0 || !strings.Contains(h.r.disconnected[0].Reason, "4004") {
			t.Fatalf("disconnected %+v", h.r.disconnected)
		}
	})
}

func TestIgnoredPingReconnects(t *testing.T) {
	_, addr := startSim(t, sim.Config{Rate: 0.5, Faults: sim.Faults{IgnorePing: true}})
	cfg := testConfig(addr, []decode.Arg{sub("tickers", "BTC-USDT"), sub("books", "BTC-USDT")})
	cfg.PingAfter, cfg.PongTimeout = 150*time.Millisecond, 150*time.Millisecond
	h := run(t, cfg)
	waitFor(t, 5*time.Second, "a reconnect", func() bool { return h.c.Stats().Reconnects >= 1 })
	r := h.r
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.disconnected) == 0 || !strings.Contains(r.disconnected[0].Reason, "no pong") {
		t.Fatalf("disconnected %+v", r.disconnected)
	}
	if len(r.gaps) == 0 || r.gaps[0].Reason != schema.GapDisconnect || r.gaps[0].Conn != "public#0" ||
		r.gaps[0].Channel != "" || r.gaps[0].FromMs > r.gaps[0].ToMs || !strings.Contains(r.gaps[0].Detail, "books:BTC-USDT") {
		t.Fatalf("gaps %+v", r.gaps)
	}
	last := r.connected[len(r.connected)-1]
	if !last.Reconnect || last.OutageFromMs != r.gaps[0].FromMs {
		t.Fatalf("connected %+v", r.connected)
	}
}

func TestReconnectLosesNothingOutsideOutage(t *testing.T) {
	for _, tc := range []struct {
		name   string
		faults sim.Faults
		drops  int // manual DropConnections calls
	}{
		{"DropConnections", sim.Faults{}, 3},
		{"DropEvery", sim.Faults{DropEvery: 350 * time.Millisecond}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, addr := startSim(t, sim.Config{Rate: 40, Faults: tc.faults})
			subs := []decode.Arg{sub("tickers", "BTC-USDT"), sub("trades", "BTC-USDT"), sub("books", "ETH-USDT"),
				sub("books5", "BTC-USDT"), sub("candle1m", "ETH-USDT"), sub("trades-all", "BTC-USDT")}
			h := run(t, testConfig(addr, subs))
			waitFor(t, 5*time.Second, "connections up", h.up(2))
			for i := 0; i < tc.drops; i++ {
				n := h.r.count(schema.KindTicker)
				waitFor(t, 5*time.Second, "tickers flowing", func() bool { return h.r.count(schema.KindTicker) > n+3 })
				srv.DropConnections()
				waitFor(t, 5*time.Second, "reconnect", func() bool { return h.c.Stats().Reconnects >= uint64(2*(i+1)) })
			}
			if tc.drops == 0 {
				waitFor(t, 5*time.Second, "reconnects", func() bool { return h.c.Stats().Reconnects >= 4 })
				waitFor(t, 5*time.Second, "connections up", h.up(2))
			}
			n := h.r.count(schema.KindTicker)
			waitFor(t, 5*time.Second, "tickers flowing after the reconnects", func() bool {
				return h.r.count(schema.KindTicker) > n+3
			})
			_ = srv.Close()
			compareWithSim(t, h, srv)
			if err := h.stop(); err != nil {
				t.Fatal(err)
			}
			st := h.c.Stats()
			gaps := h.r.gapsWith(schema.GapDisconnect)
			h.r.mu.Lock()
			defer h.r.mu.Unlock()
			// one gap per outage: closed by a reconnect, or still open when the client stopped
			if len(gaps) != len(h.r.disconnected) || len(gaps) < int(st.Reconnects) {
				t.Fatalf("%d gaps, %d reconnects, %d disconnects", len(gaps), st.Reconnects, len(h.r.disconnected))
			}
			for _, g := range gaps {
				if g.Channel != "" || g.InstID != "" || g.Ts != g.FromMs || g.ToMs < g.FromMs ||
					(g.Conn == "public#0") != strings.Contains(g.Detail, "books:ETH-USDT") {
					t.Fatalf("gap %+v", g)
				}
			}
			reconnected := 0
			for _, c := range h.r.connected {
				if c.Reconnect {
					reconnected++
				}
			}
			if reconnected != int(st.Reconnects) {
				t.Fatalf("%d Connected{Reconnect}, %d reconnects", reconnected, st.Reconnects)
			}
			resub, conns := 0, 0
			for _, s := range h.r.subscribed {
				if s.Channel == "books" {
					resub++
				}
			}
			for _, c := range h.r.connected {
				if c.Conn == "public#0" {
					conns++
				}
			}
			// Every connection that came up was subscribed; an attempt that was acked but lost before it
			// counted as connected ("connection lost while subscribing") adds a subscription without a connection.
			if resub < conns {
				t.Fatalf("books subscribed %d times on %d public connections", resub, conns)
			}
		})
	}
}

func TestNoticeHandover(t *testing.T) {
	srv, addr := startSim(t, sim.Config{Rate: 40, Faults: sim.Faults{NoticeGrace: 1500 * time.Millisecond}})
	subs := []decode.Arg{sub("tickers", "ETH-USDT"), sub("trades", "BTC-USDT"), sub("books", "ETH-USDT"),
		sub("candle1m", "ETH-USDT")}
	h := run(t, testConfig(addr, subs))
	waitFor(t, 5*time.Second, "connections up", h.up(2))
	waitFor(t, 5*time.Second, "data flowing", func() bool { return h.r.count(schema.KindTicker) > 3 })
	srv.SendNotice()
	waitFor(t, 5*time.Second, "handovers", func() bool { return h.c.Stats().Handovers == 2 })
	// Past the grace the sim kills the old connections: two remain, the new ones.
	waitFor(t, 10*time.Second, "the old connections gone", func() bool { return srv.Connections() == 2 })
	if st := h.c.Stats(); st.Reconnects != 0 || st.Connections != 2 || h.r.count(schema.KindGap) != 0 ||
		h.r.count(schema.KindDisconnected) != 0 {
		t.Fatalf("handover was not seamless: %+v, %d gaps, %d disconnects", st, h.r.count(schema.KindGap),
			h.r.count(schema.KindDisconnected))
	}
	_ = srv.Close()
	compareWithSim(t, h, srv)
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	r := h.r
	r.mu.Lock()
	defer r.mu.Unlock()
	handed := 0
	for _, c := range r.connected {
		if c.Reconnect && c.OutageFromMs == c.Ts {
			handed++
		}
	}
	if handed != 2 {
		t.Fatalf("connected events %+v", r.connected)
	}
	// Nothing doubled, nothing lost: each ticker and trade once, books never back in seqId, and the
	// events decoded on both connections are exactly those emitted plus those dropped as duplicates.
	st := h.c.Stats()
	if r.tickerDups != 0 || r.tradeDups != 0 || r.bookBack != 0 {
		t.Fatalf("after the handover: %d tickers and %d trades twice, %d books went back", r.tickerDups,
			r.tradeDups, r.bookBack)
	}
	if got, want := uint64(r.kinds[schema.KindTicker]), st.Events["tickers"]-st.HandoverDuplicates["tickers"]; got != want {
		t.Fatalf("tickers emitted %d, decoded %d less %d duplicates", got, st.Events["tickers"], st.HandoverDuplicates["tickers"])
	}
	// Trades: on the sim, only the trades stream moves BTC-USDT's tape here, so each trade id is the previous
	// one plus the number of trades aggregated into it; a missing push breaks that chain.
	ids := r.trades["BTC-USDT"]
	if len(ids) < 10 {
		t.Fatalf("only %d trades", len(ids))
	}
	sorted := slices.Sorted(maps.Keys(ids))
	for i := 1; i < len(sorted); i++ {
		if sorted[i]-sorted[i-1] != ids[sorted[i]] {
			t.Fatalf("trade push missing between tradeId %d and %d (count %d)", sorted[i-1], sorted[i], ids[sorted[i]])
		}
	}
	t.Logf("%d trades checked, %d duplicates during the overlap", len(sorted), r.tradeDups)
}

func TestPoolSplitsInstruments(t *testing.T) {
	srv, addr := startSim(t, sim.Config{Instruments: 10, Rate: 2})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var subs []decode.Arg
	for _, typ := range []string{"SPOT", "SWAP"} {
		ins, err := FetchInstruments(ctx, "http://"+addr, typ, false)
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range ins {
			subs = append(subs, sub("tickers", in.InstID), sub("books", in.InstID))
		}
	}
	if len(subs) != 40 {
		t.Fatalf("%d subscriptions from the instrument lists", len(subs))
	}
	cfg := testConfig(addr, subs)
	cfg.MaxArgsPerConn = 8
	start := time.Now()
	h := run(t, cfg)
	waitFor(t, 10*time.Second, "5 connections up", h.up(5))
	waitFor(t, 3*time.Second, "all acks", func() bool { h.r.mu.Lock(); defer h.r.mu.Unlock(); return len(h.r.subscribed) == 40 })
	if el := time.Since(start); el < 600*time.Millisecond {
		t.Errorf("5 connections in %v: the 3/s connection limit was not applied", el)
	}
	if n := srv.Connections(); n != 5 {
		t.Fatalf("sim has %d connections", n)
	}
	st := h.c.Stats()
	if st.Shards != 5 || st.Reconnects != 0 {
		t.Fatalf("stats %+v", st)
	}
	if strings.Contains(h.logs.String(), "connect failed") {
		t.Fatal("a connection was refused (rate limit?)")
	}
}

func TestBadFramesCounted(t *testing.T) {
	_, addr := startSim(t, sim.Config{Rate: 40, Faults: sim.Faults{MalformedEvery: 5, UnknownEvery: 7}})
	h := run(t, testConfig(addr, []decode.Arg{sub("tickers", "BTC-USDT"), sub("trades", "ETH-USDT")}))
	waitFor(t, 5*time.Second, "bad frames", func() bool {
		st := h.c.Stats()
		return st.DecodeErrors["malformed"] >= 3 && st.DecodeErrors["unknown_channel"] >= 3
	})
	if st := h.c.Stats(); st.Reconnects != 0 || h.r.count(schema.KindTicker) == 0 {
		t.Fatalf("stats %+v", st)
	}
	// Unknown wire channels count under the one bounded label, never under their own name.
	if st := h.c.Stats(); st.Frames[registry.Other] < 3 || st.Frames["sim-unknown-channel"] != 0 {
		t.Fatalf("frames per channel %v: unknown channels not under %q", st.Frames, registry.Other)
	}
	mfs, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var other float64
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "channel" && l.GetValue() == "sim-unknown-channel" {
					t.Fatalf("%s has a label value per unknown channel", mf.GetName())
				}
				if mf.GetName() == "okxtape_frames_total" && l.GetName() == "channel" && l.GetValue() == registry.Other {
					other += m.GetCounter().GetValue()
				}
			}
		}
	}
	if other < 3 {
		t.Fatalf("okxtape_frames_total{channel=%q} = %v", registry.Other, other)
	}
	logs := h.logs.String()
	if strings.Count(logs, "kind=malformed") != 1 || strings.Count(logs, "kind=unknown_channel") != 1 {
		t.Fatalf("decode errors not logged exactly once per kind:\n%s", logs)
	}
	h.r.mu.Lock()
	defer h.r.mu.Unlock()
	if h.r.raw["sim-unknown-channel"] == 0 {
		t.Fatal("unknown-channel frames not kept as raw")
	}
}

const (
	testKey    = "0f5f5c8c-5a5e-4f0e-9f0e-9d2f1b7e2a11"
	testSecret = "22582BD0CFF14C41EDBF1AB98506286D"
	testPass   = "Passphrase-123!"
)

func TestLogin(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cred  Credentials
		wantS string // "" = login succeeds
	}{
		{"good", Credentials{testKey, testSecret, testPass}, ""},
		{"bad secret", Credentials{testKey, "WRONG-SECRET-0000", testPass}, "OKX_API_SECRET"},
		{"bad key", Credentials{"bad-key-1234", testSecret, testPass}, "OKX_API_KEY"},
		{"bad passphrase", Credentials{testKey, testSecret, "wrong-pass"}, "OKX_API_PASSPHRASE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, addr := startSim(t, sim.Config{Rate: 20, APIKey: testKey, APISecret: testSecret, Passphrase: testPass})
			cfg := testConfig(addr, []decode.Arg{{Channel: "orders", InstType: "ANY"}, {Channel: "account"},
				sub("tickers", "BTC-USDT"), sub("books-l2-tbt", "ETH-USDT")})
			cfg.Credentials = tc.cred
			h := run(t, cfg)
			if tc.wantS == "" {
				// private#0, public#0 (tickers) and public#1 (books-l2-tbt, which needs a login)
				waitFor(t, 5*time.Second, "connections up", h.up(3))
				waitFor(t, 3*time.Second, "acks", func() bool {
					h.r.mu.Lock()
					defer h.r.mu.Unlock()
					return len(h.r.subscribed) == 4
				})
				waitFor(t, 3*time.Second, "l2 books", func() bool { return h.r.count(schema.KindBook) > 0 })
				if err := h.stop(); err != nil {
					t.Fatal(err)
				}
				if srv.Stats().Logins["ok"] != 2 || len(h.r.xerrs) != 0 {
					t.Fatalf("sim logins %v, exchange errors %+v", srv.Stats().Logins, h.r.xerrs)
				}
			} else {
				var err error
				select {
				case err = <-h.done:
					h.done <- err
				case <-time.After(5 * time.Second):
					t.Fatal("Run did not fail on a rejected login")
				}
				if !errors.Is(err, ErrLoginRejected) || !strings.Contains(err.Error(), tc.wantS) {
					t.Fatalf("Run: %v", err)
				}
				if srv.Stats().Logins["ok"] != 0 {
					t.Fatal("sim accepted the login")
				}
				assertNoSecrets(t, err.Error(), tc.cred.APIKey, tc.cred.Secret, tc.cred.Passphrase)
			}
			ts := fmt.Sprint(time.Now().Unix())
			assertNoSecrets(t, h.logs.String(), tc.cred.APIKey, tc.cred.Secret, tc.cred.Passphrase,
				testKey, testSecret, testPass, Sign(tc.cred.Secret, ts)[:12])
			h.r.mu.Lock()
			defer h.r.mu.Unlock()
			if h.r.rawEvents != 0 {
				t.Fatalf("%d control frames emitted as raw", h.r.rawEvents)
			}
			for _, e := range h.r.xerrs {
				assertNoSecrets(t, e.Msg, tc.cred.APIKey, tc.cred.Secret, tc.cred.Passphrase)
			}
		})
	}
}

func TestConnectTimeout(t *testing.T) {
	srv, addr := startSim(t, sim.Config{})
	_ = srv.Close() // nothing listens any more
	cfg := testConfig(addr, []decode.Arg{sub("tickers", "BTC-USDT")})
	cfg.ConnectTimeout = 400 * time.Millisecond
	h := run(t, cfg)
	select {
	case err := <-h.done:
		h.done <- err
		if err == nil || !strings.Contains(err.Error(), "could not connect") {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not give up")
	}
}

func TestResyncer(t *testing.T) {
	_, addr := startSim(t, sim.Config{Rate: 20})
	h := run(t, testConfig(addr, []decode.Arg{sub("books", "BTC-USDT"), sub("tickers", "BTC-USDT")}))
	waitFor(t, 5*time.Second, "connection up", h.up(1))
	if err := h.c.Resubscribe("books", "BTC-USDT"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 3*time.Second, "second books ack", func() bool {
		h.r.mu.Lock()
		defer h.r.mu.Unlock()
		n := 0
		for _, s := range h.r.subscribed {
			if s.Channel == "books" {
				n++
			}
		}
		return n == 2
	})
	if err := h.c.Resubscribe("books", "XRP-USDT"); err == nil {
		t.Fatal("resubscribe of an unknown arg succeeded")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	b, raw, err := h.c.Snapshot(ctx, "BTC-USDT")
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Bids) == 0 || len(b.Asks) == 0 || len(raw.Bids) != len(b.Bids) {
		t.Fatalf("snapshot: %d bids, %d asks", len(b.Bids), len(b.Asks))
	}
	if strings.Contains(h.logs.String(), "unsubscribed a channel on its own") {
		t.Fatal("our own unsubscribe was reported as server-initiated")
	}
}
