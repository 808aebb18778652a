// Package storetest holds test helpers shared by the store packages: random rows of any table and a
// ticker generator.
package storetest

import (
	"bytes"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/okxtape/okxtape/schema"
)

// RandRow is a schema.RowReader producing random values, so any table's event can be filled with
// e.ReadRow(RandRow). All lists of one row have the same length (book sides stay consistent).
type RandRow struct {
	r     *rand.Rand
	cols  []schema.Column
	col   int
	listN int
}

var dictWords = []string{"BTC-USDT", "ETH-USDT-SWAP", "SOL-USDT", "", "buy", "sell", "tickers", "books"}

func (g *RandRow) column() schema.Column {
	c := schema.Column{}
	if g.col < len(g.cols) {
		c = g.cols[g.col]
	}
	g.col++
	return c
}

func (g *RandRow) Int64() int64 {
	g.column()
	switch g.r.IntN(4) {
	case 0:
		return 0
	case 1:
		return -g.r.Int64N(1 << 40)
	}
	return g.r.Int64N(1 << 50)
}

func (g *RandRow) flt() float64 {
	switch g.r.IntN(6) {
	case 0:
		return math.NaN()
	case 1:
		return 0
	case 2:
		return math.Inf(1 - 2*g.r.IntN(2))
	}
	return math.Round(g.r.NormFloat64()*1e6) / 1e3
}

func (g *RandRow) Float64() float64 { g.column(); return g.flt() }
func (g *RandRow) Bool() bool       { g.column(); return g.r.IntN(2) == 1 }

func (g *RandRow) String() string {
	if c := g.column(); c.Dict {
		return dictWords[g.r.IntN(len(dictWords))]
	}
	b := make([]byte, g.r.IntN(40))
	for i := range b {
		b[i] = byte(' ' + g.r.IntN(90))
	}
	if g.r.IntN(5) == 0 {
		return string(b) + "é✓"
	}
	return string(b)
}

func (g *RandRow) Float64s(dst []float64) []float64 {
	g.column()
	dst = dst[:0]
	for i := 0; i < g.listN; i++ {
		dst = append(dst, g.flt())
	}
	return dst
}

func (g *RandRow) Int64s(dst []int64) []int64 {
	g.column()
	dst = dst[:0]
	for i := 0; i < g.listN; i++ {
		dst = append(dst, g.r.Int64N(1000)-10)
	}
	return dst
}

var TestInsts = []string{"BTC-USDT", "ETH-USDT", "SOL-USDT-SWAP", "DOGE-USDT", "XRP-USDT"}

// RandEvent returns a random event of table t with the given seq and ts.
func RandEvent(r *rand.Rand, t *schema.Table, seq uint64, ts int64) schema.Stored {
	e := t.New()
	e.ReadRow(&RandRow{r: r, cols: t.Columns, listN: r.IntN(5)})
	h := e.Hdr()
	h.Seq, h.Ts, h.RecvNs = seq, ts, ts*1e6+r.Int64N(1e6)
	h.InstID = TestInsts[r.IntN(len(TestInsts))]
	return e
}

func RowBytes(e schema.Stored) []byte { return schema.AppendRow(nil, e) }

// EqualRows compares two events by their encoded rows (NaN-aware: same bits).
func EqualRows(a, b schema.Stored) bool { return bytes.Equal(RowBytes(a), RowBytes(b)) }

func BySeq(evs []schema.Stored) []schema.Stored {
	s := append([]schema.Stored(nil), evs...)
	sort.Slice(s, func(i, j int) bool { return s[i].Hdr().Seq < s[j].Hdr().Seq })
	return s
}

// TickerGen makes realistic synthetic tickers (performance.md B4): Zipf-like activity over instruments,
// random-walk prices in tick units with about 5 significant digits, lognormal sizes in lots, constant
// open/sod per instrument, running high/low, cumulative volumes, 3.6 ms between events.
type TickerGen struct {
	r     *rand.Rand
	insts []tgInst
	cum   []float64
	seq   uint64
	ts    int64
	e     schema.Ticker
}

type tgInst struct {
	id                string
	tick, px, open    float64
	high, low, vol    float64
	volCcy, sod, sod8 float64
}

func NewTickerGen(seed uint64, n int) *TickerGen {
	g := &TickerGen{r: rand.New(rand.NewPCG(seed, 1)), seq: 1_700_000_000_000_000_000, ts: 1_767_225_600_000}
	total := 0.0
	for i := 0; i < n; i++ {
		mag := math.Pow(10, float64(g.r.IntN(6)))
		px := math.Round((1+9*g.r.Float64())*mag*1e4) / 1e4
		tick := mag / 1e4
		in := tgInst{id: fmt.Sprintf("C%03d-USDT", i), tick: tick, px: px, open: px, high: px, low: px,
			vol: math.Round(g.r.Float64() * 1e6), sod: px, sod8: px}
		in.volCcy = in.vol * px
		g.insts = append(g.insts, in)
		total += 1 / float64(i+1)
		g.cum = append(g.cum, total)
	}
	for i := range g.cum {
		g.cum[i] /= total
	}
	return g
}

func (g *TickerGen) Next() *schema.Ticker {
	i := sort.SearchFloat64s(g.cum, g.r.Float64())
	i = min(i, len(g.insts)-1)
	in := &g.insts[i]
	in.px = math.Max(in.tick, in.px+float64(g.r.IntN(5)-2)*in.tick)
	in.px = math.Round(in.px/in.tick) * in.tick
	in.high, in.low = math.Max(in.high, in.px), math.Min(in.low, in.px)
	sz := math.Round(math.Exp(g.r.NormFloat64()*1.5)*100) / 100
	in.vol += sz
	in.volCcy += sz * in.px
	g.seq += 1 + uint64(g.r.IntN(3))
	g.ts += 3 + int64(g.r.IntN(2))
	g.e = schema.Ticker{Header: schema.Header{Seq: g.seq, RecvNs: g.ts*1e6 + g.r.Int64N(900_000), Channel: "tickers",
		InstID: in.id, Ts: g.ts}, InstType: "SPOT", Last: in.px, LastSz: sz,
		AskPx: in.px + in.tick, AskSz: math.Round(math.Exp(g.r.NormFloat64())*100) / 100,
		BidPx: in.px, BidSz: math.Round(math.Exp(g.r.NormFloat64())*100) / 100,
		Open24h: in.open, High24h: in.high, Low24h: in.low, VolCcy24h: math.Round(in.volCcy*100) / 100,
		Vol24h: math.Round(in.vol*100) / 100, SodUtc0: in.sod, SodUtc8: in.sod8}
	return &g.e
}

// Day0 is 2026-01-01T00:00:00Z in Unix ms, the base time of generated events.
const Day0 = 1_767_225_600_000

// Quiet returns a logger that discards everything.
func Quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// EventStream returns a deterministic generator of random events of every table (seq 1, 2, ...).
func EventStream(seed uint64) func() schema.Stored {
	r := rand.New(rand.NewPCG(seed, 0))
	tables := schema.Tables()
	i := 0
	return func() schema.Stored {
		i++
		return RandEvent(r, tables[r.IntN(len(tables))], uint64(i), Day0+int64(i))
	}
}

// RandEvents returns n events of EventStream(seed).
func RandEvents(seed uint64, n int) []schema.Stored {
	next := EventStream(seed)
	evs := make([]schema.Stored, n)
	for i := range evs {
		evs[i] = next()
	}
	return evs
}

// SameEvents fails t unless got and want hold equal rows in the same order.
func SameEvents(t testing.TB, got, want []schema.Stored) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d events, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].Kind() != want[i].Kind() || !EqualRows(got[i], want[i]) {
			t.Fatalf("event %d differs", i)
		}
	}
}
