package strategies

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"github.com/okxtape/okxtape/engine"
	"github.com/okxtape/okxtape/schema"
)

func trades() []schema.Stored {
	return []schema.Stored{
		&schema.Trade{Header: schema.Header{Channel: "trades", InstID: "BTC-USDT", Ts: 1}, TradeID: 1, Px: 100, Sz: 1, Side: "buy"},
		&schema.Ticker{Header: schema.Header{Channel: "tickers", InstID: "BTC-USDT", Ts: 2}, BidPx: 99, AskPx: 101},
		&schema.Trade{Header: schema.Header{Channel: "trades", InstID: "ETH-USDT", Ts: 2}, TradeID: 9, Px: 10, Sz: 2, Side: "sell"},
		&schema.Trade{Header: schema.Header{Channel: "trades", InstID: "BTC-USDT", Ts: 3}, TradeID: 2, Px: 200, Sz: 3, Side: "buy"},
	}
}

func digestOf(evs []schema.Stored) string {
	d := NewDigest()
	for _, e := range evs {
		d.Add(e)
	}
	return d.Sum()
}

func TestDigestIgnoresLocalColumnsAndStreamInterleaving(t *testing.T) {
	evs := trades()
	base := digestOf(evs)
	// other arrival stamps, other interleaving of streams: same digest
	moved := []schema.Stored{evs[2], evs[0], evs[3], evs[1]}
	for i, e := range moved {
		e.Hdr().Seq = uint64(100 + i)
		e.Hdr().RecvNs = int64(i * 7)
	}
	if got := digestOf(moved); got != base {
		t.Fatalf("digest changed with interleaving/local columns: %s vs %s", got, base)
	}
	// order within a stream matters
	if digestOf([]schema.Stored{evs[3], evs[1], evs[2], evs[0]}) == base {
		t.Fatal("digest ignores order within a stream")
	}
	// any exchange value matters
	evs[1].(*schema.Ticker).AskPx = 101.5
	if digestOf(evs) == base {
		t.Fatal("digest ignores a price change")
	}
}

func TestStatsVWAPAndSpread(t *testing.T) {
	e := engine.New(engine.Options{Mode: engine.Replay})
	s := NewStats()
	s.Attach(e)
	for _, ev := range trades() {
		e.Emit(ev)
	}
	sum := s.Summary().(StatsSummary)
	btc := sum.Instruments["BTC-USDT"]
	if want := (100*1 + 200*3) / 4.0; math.Abs(btc.VWAP-want) > 1e-12 {
		t.Fatalf("vwap %v want %v", btc.VWAP, want)
	}
	if btc.MeanSpread != 2 || btc.Trades != 2 || sum.Events["trade"] != 3 {
		t.Fatalf("summary %+v", btc)
	}
}

func TestPrintAndRegistry(t *testing.T) {
	var buf bytes.Buffer
	s, err := New("print", &buf)
	if err != nil {
		t.Fatal(err)
	}
	e := engine.New(engine.Options{Mode: engine.Replay})
	s.Attach(e)
	for _, ev := range trades() {
		e.Emit(ev)
	}
	s.Summary()
	if strings.Count(buf.String(), "\n") != 4 || !strings.Contains(buf.String(), "ETH-USDT") {
		t.Fatalf("print output:\n%s", buf.String())
	}
	if _, err := New("nope", nil); err == nil {
		t.Fatal("unknown strategy accepted")
	}
}
