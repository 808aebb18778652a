package simple

import (
	"testing"

	"github.com/okxtape/okxtape/engine"
	"github.com/okxtape/okxtape/schema"
)

func TestSignalsFollowEventTime(t *testing.T) {
	e := engine.New(engine.Options{Mode: engine.Replay})
	s := &Simple{BuyBelow: 90, SellAbv: 110, Cooldown: 1000 * 1e6}
	s.Attach(e)
	feed := []struct {
		ts   int64
		last float64
	}{{0, 100}, {100, 80}, {200, 80}, {1200, 80}, {1300, 120}, {2400, 120}}
	for _, f := range feed {
		e.Emit(&schema.Ticker{Header: schema.Header{InstID: "BTC-USDT", Ts: f.ts + 1e12}, Last: f.last})
	}
	// 80@100 buys; 80@200 is inside the cooldown; 80@1200 buys; 120@1300 is inside; 120@2400 sells
	if s.Buys != 2 || s.Sells != 1 {
		t.Fatalf("buys=%d sells=%d", s.Buys, s.Sells)
	}
}
