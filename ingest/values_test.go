package ingest

import (
	"strings"
	"testing"
	"time"

	"github.com/okxtape/okxtape/ingest/decode"
	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/sim"
)

// TestBadValuesFromSim: the simulator sends prices "Inf", "-Infinity", "NaN", "0x1p3" and pushes without ts.
// Each such element is counted per kind and not emitted; its raw frame is still emitted; every good item the
// simulator sent is emitted once.
func TestBadValuesFromSim(t *testing.T) {
	srv, addr := startSim(t, sim.Config{Rate: 50, Faults: sim.Faults{BadValueEvery: 4}})
	h := run(t, testConfig(addr, []decode.Arg{sub("tickers", "BTC-USDT"), sub("trades", "ETH-USDT"),
		sub("funding-rate", "BTC-USDT-SWAP")}))
	waitFor(t, 5*time.Second, "bad values", func() bool { return srv.Stats().Faults["bad_value"] >= 25 })
	_ = srv.Close()
	compareWithSim(t, h, srv)
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	st := h.c.Stats()
	var bad uint64
	for _, k := range []string{decode.KindBadNumber, decode.KindNoTs} {
		if st.DecodeErrors[k] == 0 {
			t.Errorf("no %s counted: %v", k, st.DecodeErrors)
		}
		bad += st.DecodeErrors[k]
	}
	if want := srv.Stats().Faults["bad_value"]; bad != want || st.DecodeErrors["malformed"] != 0 {
		t.Fatalf("decode errors %v, sim sent %d bad values", st.DecodeErrors, want)
	}
	h.r.mu.Lock()
	defer h.r.mu.Unlock()
	if got := uint64(h.r.kinds[schema.KindTicker] + h.r.kinds[schema.KindTrade] + h.r.kinds[schema.KindFundingRate]); got !=
		srv.Stats().Items["tickers"]+srv.Stats().Items["trades"]+srv.Stats().Items["funding-rate"] {
		t.Fatalf("emitted %d events, sim items %v", got, srv.Stats().Items)
	}
	if n := h.logs.String(); countLines(n, "kind="+decode.KindBadNumber) != 1 {
		t.Fatalf("bad_number logged %d times, want once:\n%s", countLines(n, "kind="+decode.KindBadNumber), n)
	}
}

func countLines(s, sub string) int {
	n := 0
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			n++
		}
	}
	return n
}

// TestDeflateBomb: permessage-deflate messages that inflate past MaxMessageBytes are skipped and counted
// once each, without dropping the connection; every other frame arrives.
func TestDeflateBomb(t *testing.T) {
	srv, addr := startSim(t, sim.Config{Rate: 40, Faults: sim.Faults{BombEvery: 15, BombBytes: 8 << 20}})
	cfg := testConfig(addr, []decode.Arg{sub("tickers", "BTC-USDT")})
	cfg.MaxMessageBytes = 1 << 20
	h := run(t, cfg)
	waitFor(t, 10*time.Second, "bombs", func() bool { return srv.Stats().Faults["bomb"] >= 3 })
	_ = srv.Close()
	compareWithSim(t, h, srv)
	waitFor(t, 5*time.Second, "every bomb counted", func() bool {
		return h.c.Stats().DecodeErrors["oversized"] == srv.Stats().Faults["bomb"]
	})
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	st := h.c.Stats()
	if st.Reconnects != 0 || st.ConnectionsOpened != 1 {
		t.Fatalf("stats %+v, sim faults %v", st, srv.Stats().Faults)
	}
	if n := countLines(h.logs.String(), "kind=oversized"); n != 1 {
		t.Fatalf("oversized logged %d times, want once", n)
	}
}
