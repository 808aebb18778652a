// Package simple is the example strategy: a buy signal when the price falls below one level and a sell
// signal when it rises above another; the same code runs live (`record`) and on stored data (`replay run`).
package simple

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/okxtape/okxtape/engine"
	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/strategies"
)

func init() {
	// A binary that imports this package gets `--strategy simple`: the record and replay CLIs do not (examples
	// stay out of them); add `import _ ".../examples/simple"` to a copy of cmd/record or cmd/replay, or call
	// the strategy directly as examples/simple/cmd/simple-replay does.
	strategies.Register("simple", func(out io.Writer) strategies.Strategy {
		return &Simple{
			Out:      out,
			BuyBelow: envFloat("OKXTAPE_SIMPLE_BUY_BELOW"),
			SellAbv:  envFloat("OKXTAPE_SIMPLE_SELL_ABOVE"),
			Band:     0.001,
			Cooldown: time.Second,
		}
	})
}

func envFloat(name string) float64 {
	f, _ := strconv.ParseFloat(os.Getenv(name), 64)
	return f
}

// Simple emits at most one signal per instrument per Cooldown of engine time. With BuyBelow/SellAbv zero,
// the levels are the first traded price of each instrument ∓ Band (0.1 %).
type Simple struct {
	Out      io.Writer
	BuyBelow float64
	SellAbv  float64
	Band     float64
	Cooldown time.Duration

	e      *engine.Engine
	levels map[string][2]float64
	last   map[string]time.Time
	Buys   int `json:"buys"`
	Sells  int `json:"sells"`
}

// Attach subscribes to tickers; strategies only ever see the engine and schema types.
func (s *Simple) Attach(e *engine.Engine) {
	s.e = e
	s.levels = map[string][2]float64{}
	s.last = map[string]time.Time{}
	engine.On(e, "simple", s.OnTicker)
}

// OnTicker is the whole strategy.
func (s *Simple) OnTicker(t *schema.Ticker) {
	lv, ok := s.levels[t.InstID]
	if !ok {
		lv = [2]float64{s.BuyBelow, s.SellAbv}
		if lv[0] == 0 {
			lv[0] = t.Last * (1 - s.Band)
		}
		if lv[1] == 0 {
			lv[1] = t.Last * (1 + s.Band)
		}
		s.levels[t.InstID] = lv
	}
	now := s.e.Now() // wall time live, event time in replay: the same decisions either way
	if now.Sub(s.last[t.InstID]) < s.Cooldown {
		return
	}
	switch {
	case t.Last < lv[0]:
		s.Buys++
		s.last[t.InstID] = now
		if s.Out != nil {
			fmt.Fprintf(s.Out, "%s BUY  %s at %g (below %g)\n", now.Format(time.RFC3339Nano), t.InstID, t.Last, lv[0])
		}
	case t.Last > lv[1]:
		s.Sells++
		s.last[t.InstID] = now
		if s.Out != nil {
			fmt.Fprintf(s.Out, "%s SELL %s at %g (above %g)\n", now.Format(time.RFC3339Nano), t.InstID, t.Last, lv[1])
		}
	}
}

// Summary reports the signal counts.
func (s *Simple) Summary() any { return map[string]int{"buys": s.Buys, "sells": s.Sells} }
