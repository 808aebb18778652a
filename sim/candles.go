package sim

import (
	"strconv"
	"strings"
	"time"
)

// candleGen pushes the open bar of one candle channel on every tick and, when the bar's period ends, the
// closed bar once with confirm "1" before starting the next.
type candleGen struct {
	genBase
	bar            string
	start          time.Time // open time of the current bar (zero before the first tick)
	o, h, l, c     int64
	vol            int64   // lots
	volCcy, volQuo float64 // see appendCandle
}

func newCandleGen(base genBase, bar string) *candleGen { return &candleGen{genBase: base, bar: bar} }

// barStart returns the open time of the bar containing t. Non-"utc" bars of 6H and longer are aligned to
// UTC+8 (OKX convention); weeks start on Monday.
func barStart(bar string, t time.Time) time.Time {
	name, utc := strings.CutSuffix(bar, "utc")
	n, _ := strconv.Atoi(name[:len(name)-1])
	if n <= 0 {
		n = 1
	}
	unit := name[len(name)-1]
	loc := time.UTC
	long := unit == 'D' || unit == 'W' || unit == 'M' || (unit == 'H' && n >= 6)
	if long && !utc {
		loc = time.FixedZone("UTC+8", 8*3600)
	}
	t = t.In(loc)
	switch unit {
	case 's':
		return t.Truncate(time.Duration(n) * time.Second)
	case 'm':
		return t.Truncate(time.Duration(n) * time.Minute)
	case 'H':
		d := time.Duration(n) * time.Hour
		day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
		return day.Add(t.Sub(day) / d * d)
	case 'D':
		day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
		days := int(day.Sub(time.Date(1970, 1, 1, 0, 0, 0, 0, loc)).Hours() / 24)
		return day.AddDate(0, 0, -(days % n))
	case 'W':
		day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
		return day.AddDate(0, 0, -((int(day.Weekday()) + 6) % 7))
	default: // 'M' months
		m := int(t.Month()) - 1
		return time.Date(t.Year(), time.Month(m-m%n+1), 1, 0, 0, 0, 0, loc)
	}
}

func (g *candleGen) tick(now time.Time) []frameOut {
	m := g.m
	m.mu.Lock()
	px := m.tape.last
	sz := m.inst.MinSz * (1 + m.rng.Int64N(20))
	m.mu.Unlock()
	start := barStart(g.bar, now)
	if !g.start.IsZero() && !start.Equal(g.start) {
		b := g.appendCandle(g.open(""), "1")
		g.start = time.Time{}
		return one(b)
	}
	if g.start.IsZero() {
		g.start, g.o, g.h, g.l, g.vol, g.volCcy, g.volQuo = start, px, px, px, 0, 0, 0
	}
	g.c, g.h, g.l = px, max(g.h, px), min(g.l, px)
	g.vol += sz
	base := float64(sz) / pow10f(g.in.LotDec)
	if g.in.Type != "SPOT" {
		base *= parseF(g.in.CtVal)
	}
	quote := base * float64(px) / pow10f(g.in.TickDec)
	g.volQuo += quote
	if g.in.Type == "SPOT" {
		g.volCcy += quote
	} else {
		g.volCcy += base
	}
	return one(g.appendCandle(g.open(""), "0"))
}

// appendCandle appends [ts,o,h,l,c,vol,volCcy,volCcyQuote,confirm]: vol in base (spot) or contracts,
// volCcy in quote (spot) or base (derivatives), volCcyQuote in quote.
func (g *candleGen) appendCandle(b []byte, confirm string) []byte {
	b = append(b, '[')
	b = append(b, '"')
	b = strconv.AppendInt(b, g.start.UnixMilli(), 10)
	b = append(b, '"')
	for _, s := range []string{g.px(g.o), g.px(g.h), g.px(g.l), g.px(g.c), g.sz(g.vol),
		fmtFloat(g.volCcy, 8), fmtFloat(g.volQuo, 8), confirm} {
		b = append(b, ',')
		b = appendStr(b, s)
	}
	return append(b, ']')
}
