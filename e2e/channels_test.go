package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// newChannelDataset maps the channels added with the channel registry (and tickers) to their dataset.
var newChannelDataset = map[string]string{
	"tickers": "tickers", "liquidation-orders": "liquidations", "price-limit": "price_limits",
	"instruments": "instruments", "status": "status", "books-rpi": "books",
}

// TestNewChannelsRecordReplayParity: record the new channels from the simulator, with the type-wide ones
// (liquidation-orders, instruments) selected by --inst-type; every item the simulator sent is a stored row
// in the channel's dataset, books-rpi goes through the book manager (quotes derived), and replaying the
// store gives the live digest (liquidations included: the simulator, like OKX, sends them out of time order,
// and replay keeps their arrival order within each stream).
func TestNewChannelsRecordReplayParity(t *testing.T) {
	out := t.TempDir()
	s := startSim(t, "--instruments", "2", "--rate", "20")
	rec := start(t, nil, "record", "--ws-url", s.ws(), "--rest-url", s.rest(),
		"--channels", "tickers,liquidation-orders,price-limit,instruments,status,books-rpi",
		"--inst", "BTC-USDT,BTC-USDT-SWAP", "--inst-type", "SWAP",
		"--strategy", "digest", "--out", out, "--flush-interval", "200ms", "--log-level", "warn")
	time.Sleep(5 * time.Second)
	sent := s.finish() // stop the source first: the client reads everything already on the wire
	time.Sleep(1500 * time.Millisecond)
	live := rec.end(0)

	for ch, ds := range newChannelDataset {
		got := storedRows(t, out, ds, "")[ch]
		if got == 0 || got != sent.Items[ch] {
			t.Errorf("channel %s: simulator sent %d items, %d rows stored in %s", ch, sent.Items[ch], got, ds)
		}
	}
	if n := storedRows(t, out, "liquidations", "BTC-USDT-SWAP")["liquidation-orders"]; n == 0 {
		t.Errorf("no liquidations of BTC-USDT-SWAP (instType SWAP) stored")
	}
	if n := storedRows(t, out, "instruments", "BTC-USDT")["instruments"]; n != 0 {
		t.Errorf("%d SPOT instruments stored for --inst-type SWAP", n)
	}
	if q := storedRows(t, out, "quotes", ""); q["books-rpi"] == 0 {
		t.Errorf("no quotes derived from books-rpi: %v", q)
	}
	replayed, _ := replayDigest(t, out)
	requireParity(t, "new channels: record → replay", live, replayed)
}

// subscribedNow returns the simulator's current subscriber count per stream.
func (s *sim) subscribedNow(t *testing.T) map[string]int {
	t.Helper()
	resp, err := http.Get("http://" + s.addr + "/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st struct {
		Subscribed map[string]int `json:"subscribed"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st.Subscribed
}

// waitSim polls the simulator's subscriptions until cond holds.
func (s *sim) waitSim(t *testing.T, what string, cond func(map[string]int) bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		sub := s.subscribedNow(t)
		if cond(sub) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; subscribed: %v", what, sub)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestAllInstrumentsFollowsListings: with --all-instruments, record follows the instruments channel: an
// instrument listed while it runs is subscribed (and its rows stored), and unsubscribed once delisted, while
// the others stay subscribed; no restart.
func TestAllInstrumentsFollowsListings(t *testing.T) {
	out := t.TempDir()
	s := startSim(t, "--instruments", "2", "--rate", "10", "--list-every", "2s")
	rec := start(t, nil, "record", "--ws-url", s.ws(), "--rest-url", s.rest(), "--all-instruments",
		"--inst-type", "SWAP", "--channels", "tickers", "--out", out, "--flush-interval", "200ms",
		"--log-level", "info")
	// The simulator lists SOL (the third base) 2 s after it starts and delists it 2 s later.
	s.waitSim(t, "the listed instrument subscribed", func(m map[string]int) bool {
		return m["tickers:SOL-USDT-SWAP"] == 1 && m["instruments:SWAP"] == 1
	})
	s.waitSim(t, "the delisted instrument unsubscribed", func(m map[string]int) bool {
		return m["tickers:SOL-USDT-SWAP"] == 0
	})
	if m := s.subscribedNow(t); m["tickers:BTC-USDT-SWAP"] != 1 || m["tickers:ETH-USDT-SWAP"] != 1 {
		t.Fatalf("the other instruments lost their subscriptions: %v", m)
	}
	sum := rec.end(0)
	if l, _ := sum.path("listings", "listed").(float64); l < 1 {
		t.Errorf("summary listings: %v", sum.path("listings"))
	}
	if d, _ := sum.path("listings", "delisted").(float64); d < 1 {
		t.Errorf("summary listings: %v", sum.path("listings"))
	}
	if n := storedRows(t, out, "tickers", "SOL-USDT-SWAP")["tickers"]; n == 0 {
		t.Error("no tickers of the instrument listed at run time stored")
	}
	if n := storedRows(t, out, "tickers", "SOL-USDT")["tickers"]; n != 0 {
		t.Errorf("%d tickers of the SPOT twin stored for --inst-type SWAP", n)
	}
}

// TestFamilyChannelsRecordReplayParity: opt-summary and estimated-price are subscribed per instrument family
// (--inst read as families, --inst-type beside them); each run's rows match what the simulator sent and
// replay gives the live digest.
func TestFamilyChannelsRecordReplayParity(t *testing.T) {
	s := startSim(t, "--instruments", "2", "--rate", "20")
	runs := []struct{ channel, inst, instType, dataset, out string }{
		{"opt-summary", "BTC-USD", "OPTION", "opt_summaries", t.TempDir()},
		{"estimated-price", "ETH-USDT", "SWAP", "estimated_prices", t.TempDir()},
	}
	var recs []*proc
	for _, r := range runs {
		recs = append(recs, start(t, nil, "record", "--ws-url", s.ws(), "--rest-url", s.rest(),
			"--channels", r.channel, "--inst", r.inst, "--inst-type", r.instType, "--strategy", "digest",
			"--out", r.out, "--flush-interval", "200ms", "--log-level", "warn"))
	}
	time.Sleep(3 * time.Second)
	sent := s.finish()
	time.Sleep(1500 * time.Millisecond)
	for i, r := range runs {
		rec := recs[i]
		rec.stop(syscall.SIGTERM, 60*time.Second)
		if rec.exitCode() != 0 {
			t.Fatalf("%s: record exit %d", r.channel, rec.exitCode())
		}
		var live summary
		rec.lastJSON(&live)
		if got := storedRows(t, r.out, r.dataset, "")[r.channel]; got == 0 || got != sent.Items[r.channel] {
			t.Errorf("%s: simulator sent %d items, %d rows stored", r.channel, sent.Items[r.channel], got)
		}
		replayed, _ := replayDigest(t, r.out)
		requireParity(t, r.channel+": record → replay", live, replayed)
	}
	if n := storedRows(t, runs[1].out, "estimated_prices", "ETH-USDT-SWAP")["estimated-price"]; n == 0 {
		t.Error("no estimated prices of ETH-USDT-SWAP (family ETH-USDT) stored")
	}
}

// TestInstTypeRefusedUpFront: a type-wide channel with an --inst-type OKX refuses (the default SPOT for
// liquidation-orders, ANY for the instruments channel of --all-instruments) exits 2 naming the accepted types
// instead of recording nothing.
func TestInstTypeRefusedUpFront(t *testing.T) {
	for _, args := range [][]string{
		{"--channels", "tickers,liquidation-orders"},
		{"--channels", "tickers", "--all-instruments", "--inst-type", "ANY"},
	} {
		rec := start(t, nil, "record", append(args, "--ws-url", "ws://127.0.0.1:1", "--rest-url", "http://127.0.0.1:1",
			"--no-store")...)
		rec.wait(30 * time.Second)
		if rec.exitCode() != 2 || !strings.Contains(rec.stderr.String(), "takes --inst-type") {
			t.Errorf("%v: exit %d, stderr %q", args, rec.exitCode(), tail(rec.stderr.String(), 300))
		}
	}
}
