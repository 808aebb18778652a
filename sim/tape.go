package sim

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// tape is an instrument's trade-driven state (last trade, 24 h statistics, open interest, funding),
// guarded by market.mu.
type tape struct {
	last, lastSz        int64 // ticks, lots
	open24, high, low   int64
	sod0, sod8          int64
	vol24               int64 // lots
	volCcy24            int64 // quote currency, in units of 10^-volCcyDec
	tradeID             int64
	oi                  int64 // lots (contracts)
	funding             float64
	lastFundingSettleMs int64
}

func (t *tape) init(m *market) {
	mid := m.inst.Mid0
	t.last, t.lastSz = mid, m.inst.MinSz
	t.open24 = mid - mid/100 + m.rng.Int64N(mid/50+1)
	t.high = max(mid, t.open24) + mid/80
	t.low = min(mid, t.open24) - mid/80
	t.sod0, t.sod8 = t.open24+mid/400, t.open24-mid/300
	t.vol24 = m.inst.SzHi * (1000 + m.rng.Int64N(1000))
	t.volCcy24 = int64(float64(t.vol24) / pow10f(m.inst.LotDec) * float64(mid) / pow10f(m.inst.TickDec) * pow10f(volCcyDec))
	t.tradeID = 100_000_000 + m.rng.Int64N(900_000_000)
	t.oi = m.inst.SzHi * (100 + m.rng.Int64N(100))
	t.funding = 0.0001
}

// trade executes one taker trade against the best opposite level. Caller holds m.mu.
func (m *market) trade(count int64) (side string, px, sz int64) {
	side = "buy"
	lv := m.asks.top(1)
	if m.rng.IntN(2) == 0 {
		side, lv = "sell", m.bids.top(1)
	}
	px = m.tape.last
	if len(lv) > 0 {
		px = lv[0].px
	}
	sz = min(TradeSize(m.rng, 30*m.inst.MinSz, m.inst.MinSz), max(m.inst.SzHi, 1))
	t := &m.tape
	t.last, t.lastSz = px, sz
	t.high, t.low = max(t.high, px), min(t.low, px)
	t.vol24 += sz
	t.volCcy24 += QuoteUnits(px, sz, m.inst.TickDec+m.inst.LotDec, volCcyDec)
	t.tradeID += count
	if m.rng.IntN(2) == 0 {
		t.oi += sz
	} else if t.oi > sz {
		t.oi -= sz
	}
	return side, px, sz
}

func (m *market) mid() int64 {
	if len(m.bids.lv) == 0 || len(m.asks.lv) == 0 {
		return m.tape.last
	}
	return (m.bids.lv[0].px + m.asks.lv[0].px) / 2
}

// ---- trades, trades-all ----

type tradesGen struct {
	genBase
	all   bool
	embed bool
}

func (g *tradesGen) tick(now time.Time) []frameOut {
	m := g.m
	m.mu.Lock()
	m.step()
	count := int64(1)
	if !g.all {
		count += m.rng.Int64N(3)
	}
	side, px, sz := m.trade(count)
	id, seq := m.tape.tradeID, m.seq
	m.mu.Unlock()
	if g.embed {
		id = time.Now().UnixNano()
	}
	b := g.open("")
	b = append(b, '{')
	b = appendKV(b, "instId", g.in.ID)
	b = appendKV(b, "tradeId", strconv.FormatInt(id, 10))
	b = appendKV(b, "px", g.px(px))
	b = appendKV(b, "sz", g.sz(sz))
	b = appendKV(b, "side", side)
	if g.all {
		b = appendKV(b, "source", "0")
		b = appendKMs(b, "ts", now.UnixMilli())
	} else {
		b = appendKMs(b, "ts", now.UnixMilli())
		b = appendKV(b, "count", strconv.FormatInt(count, 10))
		b = appendKV(b, "source", "0")
		b = appendKInt(b, "seqId", seq)
	}
	return one(append(b, '}'))
}

// ---- tickers ----

type tickersGen struct{ genBase }

func (g *tickersGen) tick(now time.Time) []frameOut {
	m := g.m
	m.mu.Lock()
	m.step()
	if m.rng.IntN(3) == 0 {
		m.trade(1)
	}
	t := m.tape
	var ask, bid level
	if l := m.asks.top(1); len(l) > 0 {
		ask = l[0]
	}
	if l := m.bids.top(1); len(l) > 0 {
		bid = l[0]
	}
	m.mu.Unlock()
	b := g.open("")
	b = append(b, '{')
	b = appendKV(b, "instType", g.in.Type)
	b = appendKV(b, "instId", g.in.ID)
	b = appendKV(b, "last", g.px(t.last))
	b = appendKV(b, "lastSz", g.sz(t.lastSz))
	b = appendKV(b, "askPx", g.px(ask.px))
	b = appendKV(b, "askSz", g.sz(ask.sz))
	b = appendKV(b, "bidPx", g.px(bid.px))
	b = appendKV(b, "bidSz", g.sz(bid.sz))
	b = appendKV(b, "open24h", g.px(t.open24))
	b = appendKV(b, "high24h", g.px(t.high))
	b = appendKV(b, "low24h", g.px(t.low))
	volCcy, vol := fmtFixed(t.volCcy24, volCcyDec), g.sz(t.vol24)
	if g.in.Type != "SPOT" { // derivatives: vol24h in contracts, volCcy24h in base currency
		ct, dec := parseFixed(g.in.CtVal)
		volCcy = fmtFixed(t.vol24*ct, g.in.LotDec+dec)
	}
	b = appendKV(b, "volCcy24h", volCcy)
	b = appendKV(b, "vol24h", vol)
	b = appendKV(b, "sodUtc0", g.px(t.sod0))
	b = appendKV(b, "sodUtc8", g.px(t.sod8))
	b = appendKMs(b, "ts", now.UnixMilli())
	return one(append(b, '}'))
}

// volCcyDec is the decimals of volCcy24h: OKX prints the quote volume with at most 8 ("525802090.62716611").
const volCcyDec = 8

// QuoteUnits returns the quote value of px ticks times sz lots (together dec decimals) in units of 10^-out,
// rounded half up: the exact increment of a cumulative quote volume such as volCcy24h.
func QuoteUnits(px, sz int64, dec, out int) int64 {
	if px <= 0 || sz <= 0 {
		return 0
	}
	if px > math.MaxInt64/sz { // far beyond any market's trade: approximate
		return int64(float64(px) * float64(sz) / pow10f(dec) * pow10f(out))
	}
	v := px * sz
	if dec <= out {
		return v * pow10i(out-dec)
	}
	p := pow10i(dec - out)
	return (v + p/2) / p
}

// parseFixed parses a plain decimal such as a contract value ("0.01", "100") into units and decimals;
// anything else counts as 1.
func parseFixed(s string) (units int64, dec int) {
	whole, frac, _ := strings.Cut(s, ".")
	u, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil || u <= 0 {
		return 1, 0
	}
	return u, len(frac)
}

func parseF(s string) float64 {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 1
	}
	return f
}

// ---- mark-price ----

type markGen struct{ genBase }

func (g *markGen) tick(now time.Time) []frameOut {
	g.m.mu.Lock()
	px := g.m.mid()
	g.m.mu.Unlock()
	instType := g.in.Type
	if instType == "SPOT" {
		instType = "MARGIN"
	}
	b := g.open("")
	b = append(b, '{')
	b = appendKV(b, "instType", instType)
	b = appendKV(b, "instId", g.in.ID)
	b = appendKV(b, "markPx", g.px(px))
	b = appendKMs(b, "ts", now.UnixMilli())
	return one(append(b, '}'))
}

// ---- index-tickers ----

type indexGen struct {
	genBase
	id string
}

func (g *indexGen) tick(now time.Time) []frameOut {
	m := g.m
	m.mu.Lock()
	px, t := m.mid(), m.tape
	m.mu.Unlock()
	f := func(v int64) string { return fmtFixed(v, m.inst.TickDec) }
	b := g.open("")
	b = append(b, '{')
	b = appendKV(b, "instId", g.id)
	b = appendKV(b, "idxPx", f(px))
	b = appendKV(b, "high24h", f(t.high))
	b = appendKV(b, "low24h", f(t.low))
	b = appendKV(b, "open24h", f(t.open24))
	b = appendKV(b, "sodUtc0", f(t.sod0))
	b = appendKV(b, "sodUtc8", f(t.sod8))
	b = appendKMs(b, "ts", now.UnixMilli())
	return one(append(b, '}'))
}

// ---- funding-rate ----

type fundingGen struct{ genBase }

func (g *fundingGen) tick(now time.Time) []frameOut {
	m := g.m
	m.mu.Lock()
	m.tape.funding += (m.rng.Float64() - 0.5) * 0.000002
	rate := m.tape.funding
	m.mu.Unlock()
	const period = 8 * time.Hour
	next := now.Truncate(period).Add(period)
	b := g.open("")
	b = append(b, '{')
	b = appendKV(b, "formulaType", "withRate")
	b = appendKV(b, "fundingRate", fmtFloat(rate, 16))
	b = appendKMs(b, "fundingTime", next.UnixMilli())
	b = appendKV(b, "impactValue", "20000")
	b = appendKV(b, "instId", g.in.ID)
	b = appendKV(b, "instType", "SWAP")
	b = appendKV(b, "interestRate", "0.0001")
	b = appendKV(b, "maxFundingRate", "0.00375")
	b = appendKV(b, "method", "current_period")
	b = appendKV(b, "minFundingRate", "-0.00375")
	b = appendKV(b, "nextFundingRate", "")
	b = appendKMs(b, "nextFundingTime", next.Add(period).UnixMilli())
	b = appendKV(b, "premium", fmtFloat(rate-0.0001, 16))
	b = appendKV(b, "settFundingRate", "0.0001")
	b = appendKV(b, "settState", "settled")
	b = appendKMs(b, "ts", now.UnixMilli())
	return one(append(b, '}'))
}

// ---- open-interest ----

type oiGen struct{ genBase }

func (g *oiGen) tick(now time.Time) []frameOut {
	m := g.m
	m.mu.Lock()
	oi, px := m.tape.oi, m.mid()
	m.mu.Unlock()
	coins := float64(oi) / pow10f(g.in.LotDec) * parseF(g.in.CtVal)
	usd := coins * float64(px) / pow10f(g.in.TickDec)
	b := g.open("")
	b = append(b, '{')
	b = appendKV(b, "instId", g.in.ID)
	b = appendKV(b, "instType", g.in.Type)
	b = appendKV(b, "oi", g.sz(oi))
	b = appendKV(b, "oiCcy", fmtFloat(coins, 8))
	b = appendKV(b, "oiUsd", fmtFloat(usd, 4))
	b = appendKMs(b, "ts", now.UnixMilli())
	return one(append(b, '}'))
}
