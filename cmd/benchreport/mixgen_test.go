package main

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/okxtape/okxtape/replay"
	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/sim"
)

// TestMixOnTheGrid renders ten seconds of the mix's pushes as OKX frames (as the mix stores them) and checks
// that every price is a whole number of the instrument's tickSz and every size of its lotSz, written as OKX
// writes decimals, that volCcy24h has at most 8 decimals and grows with every trade from a realistic day's
// volume, and that book levels hold one order more often than not.
func TestMixOnTheGrid(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 0))
	var frame []byte
	levels, ones := 0, 0
	for k, inst := range mixInsts {
		s, err := newMixState(inst, mixVolUSD[k], rng)
		if err != nil {
			t.Fatal(err)
		}
		tick, lot := sim.FormatFixed(1, s.spec.TickDec), sim.FormatFixed(1, s.spec.LotDec)
		prevVolCcy := 0.0
		for step := range 1000 {
			s.walk(rng)
			evs := []schema.Stored{s.trade(rng), s.bbo()}
			if step%5 == 0 {
				evs = append(evs, s.ticker(rng), s.books(rng), s.books5())
			}
			for _, ev := range evs {
				h := ev.Hdr()
				h.InstID, h.Ts = inst, 1764547200000+int64(step)*10
				var ok bool
				if frame, ok = replay.AppendPush(frame[:0], ev); !ok {
					t.Fatalf("%T not rendered", ev)
				}
				var push struct{ Data []map[string]any }
				if err := json.Unmarshal(frame, &push); err != nil || len(push.Data) != 1 {
					t.Fatalf("frame %s: %v", frame, err)
				}
				d := push.Data[0]
				lv, on, err := sim.GridCheck(h.Channel, d, tick, lot)
				if err != nil {
					t.Fatalf("%s: %v: %s", inst, err, frame)
				}
				levels, ones = levels+lv, ones+on
				if h.Channel == "tickers" {
					v := ev.(*schema.Ticker).VolCcy24h
					if v < mixVolUSD[k] || v < prevVolCcy {
						t.Fatalf("%s volCcy24h %v (was %v, started at %v)", inst, v, prevVolCcy, mixVolUSD[k])
					}
					prevVolCcy = v
				}
				if strings.Contains(string(frame), "e-") || strings.Contains(string(frame), "e+") {
					t.Fatalf("exponent in %s", frame)
				}
			}
		}
	}
	if share := float64(ones) / float64(levels); share < 0.6 || share > 0.95 {
		t.Fatalf("%.0f %% of %d levels hold one order; OKX's books about 80 %%", 100*share, levels)
	}
}
