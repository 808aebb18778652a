package strategies

import (
	"math"
	"sort"

	"github.com/okxtape/okxtape/engine"
	"github.com/okxtape/okxtape/schema"
)

// Stats counts events and computes, per instrument, the trade VWAP and the mean bid/ask spread (from
// tickers, and from book quotes where subscribed).
type Stats struct {
	insts map[string]*instStats
	kinds map[string]uint64
}

type instStats struct {
	Events      map[string]uint64 `json:"events"`
	Trades      uint64            `json:"trades"`
	Volume      float64           `json:"volume"`
	notional    float64
	VWAP        float64 `json:"vwap"`
	spreadSum   float64
	spreadN     uint64
	MeanSpread  float64 `json:"mean_spread"`
	quoteSprSum float64
	quoteSprN   uint64
	QuoteSpread float64 `json:"mean_quote_spread,omitempty"`
	LastPx      float64 `json:"last_px"`
}

// NewStats returns the stats strategy.
func NewStats() *Stats { return &Stats{insts: map[string]*instStats{}, kinds: map[string]uint64{}} }

func (s *Stats) inst(id string) *instStats {
	st := s.insts[id]
	if st == nil {
		st = &instStats{Events: map[string]uint64{}}
		s.insts[id] = st
	}
	return st
}

// Attach registers the handlers.
func (s *Stats) Attach(e *engine.Engine) {
	e.OnAll("stats", func(ev schema.Event) {
		if schema.TableOf(ev.Kind()) == nil || ev.Kind() == schema.KindRaw || ev.Kind() == schema.KindSession {
			return
		}
		s.kinds[ev.Kind().String()]++
		s.inst(ev.Hdr().InstID).Events[ev.Kind().String()]++
	})
	engine.On(e, "stats", func(t *schema.Trade) { s.Trade(t) })
	engine.On(e, "stats", func(t *schema.Ticker) {
		if ok(t.BidPx) && ok(t.AskPx) {
			st := s.inst(t.InstID)
			st.spreadSum += t.AskPx - t.BidPx
			st.spreadN++
		}
	})
	engine.On(e, "stats", func(q *schema.Quote) {
		if ok(q.BidPx) && ok(q.AskPx) {
			st := s.inst(q.InstID)
			st.quoteSprSum += q.AskPx - q.BidPx
			st.quoteSprN++
		}
	})
}

// Trade accumulates one trade into the instrument's VWAP.
func (s *Stats) Trade(t *schema.Trade) {
	if !ok(t.Px) || !ok(t.Sz) {
		return
	}
	st := s.inst(t.InstID)
	st.Trades++
	st.Volume += t.Sz
	st.notional += t.Px * t.Sz
	st.LastPx = t.Px
}

func ok(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// StatsSummary is the stats strategy's part of the exit summary.
type StatsSummary struct {
	Events      map[string]uint64     `json:"events"`
	Instruments map[string]*instStats `json:"instruments"`
	Order       []string              `json:"-"`
}

// Summary finalises VWAP and mean spreads.
func (s *Stats) Summary() any {
	ids := make([]string, 0, len(s.insts))
	for id, st := range s.insts {
		ids = append(ids, id)
		if st.Volume > 0 {
			st.VWAP = st.notional / st.Volume
		}
		if st.spreadN > 0 {
			st.MeanSpread = st.spreadSum / float64(st.spreadN)
		}
		if st.quoteSprN > 0 {
			st.QuoteSpread = st.quoteSprSum / float64(st.quoteSprN)
		}
	}
	sort.Strings(ids)
	return StatsSummary{Events: s.kinds, Instruments: s.insts, Order: ids}
}

// VWAP returns the volume-weighted average trade price of an instrument so far (NaN without trades).
func (s *Stats) VWAP(inst string) float64 {
	st := s.insts[inst]
	if st == nil || st.Volume == 0 {
		return math.NaN()
	}
	return st.notional / st.Volume
}
