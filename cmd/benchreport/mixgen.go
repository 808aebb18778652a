package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/sim"
)

// The mix's values have the shapes OKX sends (sim/shapes.go, checked against the captured frames): every
// price a whole number of the instrument's ticks and every size a whole number of its lots, held as integers
// and turned into the float64 a decoder parses from OKX's decimal string; 24 h volumes start at a realistic
// day's volume and grow by each trade; most book levels hold one order.

// mixVolUSD is each instrument's 24 h quote volume at the start (USDT), in mixInsts order.
var mixVolUSD = []float64{6e8, 3e8, 1.5e8, 8e7, 5e7, 2e7, 2e7, 2e7}

// mixLevel is one book level in ticks and lots.
type mixLevel struct {
	px, sz int64
	n      int32
}

// mixState is one instrument's market: a random walk of the fair price, the top of the book (persistent, so
// bbo-tbt and books5 snapshots repeat what did not change, as OKX's do) and the 24 h statistics.
type mixState struct {
	spec                     sim.Spot
	fair                     float64 // ticks
	top                      [2][5]mixLevel
	tickerTop                [2]mixLevel // the best levels the ticker shows (refreshed now and then)
	last, lastSz             int64
	open, high, low          int64
	sod0, sod8               int64
	vol, volCcy              int64 // lots; quote in 10^-8
	bookSeq, tradeID         int64
	levelMedian, tradeMedian int64
	snapshot                 bool
}

func newMixState(inst string, volUSD float64, rng *rand.Rand) (*mixState, error) {
	base, _, _ := strings.Cut(inst, "-")
	spec, ok := sim.SpotOf(base)
	if !ok {
		return nil, fmt.Errorf("mix: no simulator grid for %s", inst)
	}
	s := &mixState{spec: spec, fair: spec.Px * pow10(spec.TickDec), bookSeq: 1000, tradeID: 400_000_000,
		levelMedian: 3000 * spec.MinSz, tradeMedian: 30 * spec.MinSz}
	mid := int64(s.fair)
	s.last, s.lastSz = mid, spec.MinSz
	s.open = mid - mid/100 + rng.Int64N(mid/50+1)
	s.high, s.low = max(mid, s.open)+mid/80, min(mid, s.open)-mid/80
	s.sod0, s.sod8 = s.open+mid/400, s.open-mid/300
	s.vol = int64(volUSD / spec.Px * pow10(spec.LotDec))
	s.volCcy = int64(volUSD * 1e8)
	s.reprice(rng)
	return s, nil
}

func pow10(n int) float64 { return math.Pow10(n) }

// walk moves the fair price (about 6e-5 of the price per second) and the top of the book with it.
func (s *mixState) walk(rng *rand.Rand) {
	s.fair *= 1 + (rng.Float64()-0.5)*2e-5
	if bid := int64(s.fair); bid != s.top[0][0].px {
		s.reprice(rng)
		return
	}
	for side := range s.top { // the queue at the best price changes often, deeper levels less
		if rng.IntN(4) == 0 {
			s.top[side][0].sz, s.top[side][0].n = sim.LevelSize(rng, s.levelMedian), sim.Orders(rng)
		}
	}
}

// reprice rebuilds the top five levels a side around the fair price: the spread is mostly one tick, deeper
// levels are one or more ticks apart.
func (s *mixState) reprice(rng *rand.Rand) {
	bid := int64(s.fair)
	ask := bid + 1
	if rng.IntN(8) == 0 {
		ask += 1 + rng.Int64N(3)
	}
	for i := range 5 {
		s.top[0][i] = s.level(rng, bid)
		s.top[1][i] = s.level(rng, ask)
		bid -= s.gap(rng)
		ask += s.gap(rng)
	}
}

func (s *mixState) level(rng *rand.Rand, px int64) mixLevel {
	return mixLevel{px: px, sz: sim.LevelSize(rng, s.levelMedian), n: sim.Orders(rng)}
}

// gap is the distance to the next level in ticks (1 most often, geometric tail).
func (s *mixState) gap(rng *rand.Rand) int64 {
	g := int64(1)
	for g < 20 && rng.IntN(2) == 0 {
		g++
	}
	return g
}

func (s *mixState) px(ticks int64) float64 { return fixed(ticks, s.spec.TickDec) }
func (s *mixState) sz(lots int64) float64  { return fixed(lots, s.spec.LotDec) }

// fixed is units×10^-dec as the float64 strconv.ParseFloat returns for OKX's decimal string.
func fixed(units int64, dec int) float64 {
	v, err := strconv.ParseFloat(sim.FormatFixed(units, dec), 64)
	if err != nil {
		panic(err) // FormatFixed writes plain decimals
	}
	return v
}

func (s *mixState) trade(rng *rand.Rand) *schema.Trade {
	s.tradeID++
	side, px := schema.SideBuy, s.top[1][0].px
	if rng.IntN(2) == 0 {
		side, px = schema.SideSell, s.top[0][0].px
	}
	sz := sim.TradeSize(rng, s.tradeMedian, s.spec.MinSz)
	count := int64(1)
	if rng.IntN(4) == 0 {
		count += 1 + rng.Int64N(3)
		s.tradeID += count - 1
	}
	s.last, s.lastSz = px, sz
	s.high, s.low = max(s.high, px), min(s.low, px)
	s.vol += sz
	s.volCcy += sim.QuoteUnits(px, sz, s.spec.TickDec+s.spec.LotDec, 8)
	return &schema.Trade{Header: schema.Header{Channel: "trades"}, TradeID: s.tradeID, Px: s.px(px),
		Sz: s.sz(sz), Side: side, Count: count}
}

func (s *mixState) ticker(rng *rand.Rand) *schema.Ticker {
	if rng.IntN(40) == 0 { // the 24 h window's open moves now and then
		s.open += rng.Int64N(5) - 2
	}
	// OKX's ticker shows the best bid and ask of a snapshot taken now and then: in the captured BTC-USDT
	// tickers (OKX.ws.1.0) bidPx, bidSz, askPx and askSz equal the previous ticker's in 21 of 24.
	if s.tickerTop[0].px == 0 || rng.IntN(8) == 0 {
		s.tickerTop = [2]mixLevel{s.top[0][0], s.top[1][0]}
	}
	b, a := s.tickerTop[0], s.tickerTop[1]
	return &schema.Ticker{Header: schema.Header{Channel: "tickers"}, InstType: "SPOT", Last: s.px(s.last),
		LastSz: s.sz(s.lastSz), BidPx: s.px(b.px), BidSz: s.sz(b.sz), AskPx: s.px(a.px), AskSz: s.sz(a.sz),
		Open24h: s.px(s.open), High24h: s.px(s.high), Low24h: s.px(s.low), Vol24h: s.sz(s.vol),
		VolCcy24h: fixed(s.volCcy, 8), SodUtc0: s.px(s.sod0), SodUtc8: s.px(s.sod8)}
}

func (s *mixState) levels(lv []mixLevel) []schema.Level {
	out := make([]schema.Level, len(lv))
	for i, l := range lv {
		n := int64(l.n)
		if l.sz == 0 {
			n = 0
		}
		out[i] = schema.Level{Px: s.px(l.px), Sz: s.sz(l.sz), Orders: n}
	}
	return out
}

// bbo is a bbo-tbt snapshot of the top of the book.
func (s *mixState) bbo() *schema.Book {
	s.bookSeq++
	return &schema.Book{Header: schema.Header{Channel: snapshotBook(1)}, Action: schema.ActionSnapshot,
		SeqID: s.bookSeq, Bids: s.levels(s.top[0][:1]), Asks: s.levels(s.top[1][:1])}
}

// books5 is a books5 snapshot of the top five levels.
func (s *mixState) books5() *schema.Book {
	s.bookSeq++
	return &schema.Book{Header: schema.Header{Channel: snapshotBook(5)}, Action: schema.ActionSnapshot,
		SeqID: s.bookSeq, Bids: s.levels(s.top[0][:]), Asks: s.levels(s.top[1][:])}
}

// books is a books message: the 400-level snapshot first, then updates of 1-4 levels a side, about a third
// of them deletions (size 0), the rest new sizes at prices up to a few dozen ticks from the top.
func (s *mixState) books(rng *rand.Rand) *schema.Book {
	prev := s.bookSeq
	s.bookSeq++
	if !s.snapshot {
		s.snapshot = true
		return &schema.Book{Header: schema.Header{Channel: "books"}, Action: schema.ActionSnapshot, SeqID: s.bookSeq,
			PrevSeqID: -1, Bids: s.levels(s.depth(rng, 0, 0, 400)), Asks: s.levels(s.depth(rng, 1, 0, 400))}
	}
	pick := func(side int) []schema.Level {
		lv := s.depth(rng, side, rng.Int64N(40), 1+rng.IntN(4))
		for i := range lv {
			if rng.IntN(3) == 0 {
				lv[i].sz = 0
			}
		}
		return s.levels(lv)
	}
	return &schema.Book{Header: schema.Header{Channel: "books"}, Action: schema.ActionUpdate, SeqID: s.bookSeq,
		PrevSeqID: prev, Bids: pick(0), Asks: pick(1)}
}

// depth returns n levels of a side (0 bids, 1 asks) from skip ticks behind the top outward, gaps of one or
// more ticks.
func (s *mixState) depth(rng *rand.Rand, side int, skip int64, n int) []mixLevel {
	out := make([]mixLevel, 0, n)
	px := s.top[side][0].px - skip
	if side == 1 {
		px = s.top[side][0].px + skip
	}
	for len(out) < n && px > 0 {
		out = append(out, s.level(rng, px))
		if side == 0 {
			px -= s.gap(rng)
		} else {
			px += s.gap(rng)
		}
	}
	return out
}
