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
				check := func(k, step string) {
					if v, _ := d[k].(string); !sim.OnGrid(v, step) {
						t.Fatalf("%s %s = %q is not a whole number of %s: %s", inst, k, v, step, frame)
					}
				}
				switch h.Channel {
				case "tickers":
					for _, k := range []string{"last", "askPx", "bidPx", "open24h", "high24h", "low24h", "sodUtc0", "sodUtc8"} {
						check(k, tick)
					}
					for _, k := range []string{"lastSz", "askSz", "bidSz", "vol24h"} {
						check(k, lot)
					}
					check("volCcy24h", "0.00000001")
					v := ev.(*schema.Ticker).VolCcy24h
					if v < mixVolUSD[k] || v < prevVolCcy {
						t.Fatalf("%s volCcy24h %v (was %v, started at %v)", inst, v, prevVolCcy, mixVolUSD[k])
					}
					prevVolCcy = v
				case "trades":
					check("px", tick)
					check("sz", lot)
				default:
					for _, side := range []string{"asks", "bids"} {
						lv, _ := d[side].([]any)
						for _, l := range lv {
							f, _ := l.([]any)
							if len(f) != 4 {
								t.Fatalf("level %v: %s", l, frame)
							}
							px, _ := f[0].(string)
							sz, _ := f[1].(string)
							n, _ := f[3].(string)
							if !sim.OnGrid(px, tick) || !sim.OnGrid(sz, lot) || !sim.OnGrid(n, "1") || (sz == "0") != (n == "0") {
								t.Fatalf("%s level %v off the grid (tick %s, lot %s)", inst, f, tick, lot)
							}
							if n != "0" {
								levels++
								if n == "1" {
									ones++
								}
							}
						}
					}
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
