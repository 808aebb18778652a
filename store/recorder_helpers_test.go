package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/okxtape/okxtape/schema"
)

// recRandRow is a schema.RowReader producing random values, so any table's event can be filled with
// e.ReadRow(recRandRow). All lists of one row have the same length (book sides stay consistent).
type recRandRow struct {
	r     *rand.Rand
	cols  []schema.Column
	col   int
	listN int
}

var recDictWords = []string{"BTC-USDT", "ETH-USDT-SWAP", "SOL-USDT", "", "buy", "sell", "tickers", "books"}

func (g *recRandRow) column() schema.Column {
	c := schema.Column{}
	if g.col < len(g.cols) {
		c = g.cols[g.col]
	}
	g.col++
	return c
}

func (g *recRandRow) Int64() int64 {
	g.column()
	switch g.r.IntN(4) {
	case 0:
		return 0
	case 1:
		return -g.r.Int64N(1 << 40)
	}
	return g.r.Int64N(1 << 50)
}

func (g *recRandRow) flt() float64 {
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

func (g *recRandRow) Float64() float64 { g.column(); return g.flt() }
func (g *recRandRow) Bool() bool       { g.column(); return g.r.IntN(2) == 1 }

func (g *recRandRow) String() string {
	if c := g.column(); c.Dict {
		return recDictWords[g.r.IntN(len(recDictWords))]
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

func (g *recRandRow) Float64s(dst []float64) []float64 {
	g.column()
	dst = dst[:0]
	for i := 0; i < g.listN; i++ {
		dst = append(dst, g.flt())
	}
	return dst
}

func (g *recRandRow) Int64s(dst []int64) []int64 {
	g.column()
	dst = dst[:0]
	for i := 0; i < g.listN; i++ {
		dst = append(dst, g.r.Int64N(1000)-10)
	}
	return dst
}

var recTestInsts = []string{"BTC-USDT", "ETH-USDT", "SOL-USDT-SWAP", "DOGE-USDT", "XRP-USDT"}

// recRandEvent returns a random event of table t with the given seq and ts.
func recRandEvent(r *rand.Rand, t *schema.Table, seq uint64, ts int64) schema.Stored {
	e := t.New()
	e.ReadRow(&recRandRow{r: r, cols: t.Columns, listN: r.IntN(5)})
	h := e.Hdr()
	h.Seq, h.Ts, h.RecvNs = seq, ts, ts*1e6+r.Int64N(1e6)
	h.InstID = recTestInsts[r.IntN(len(recTestInsts))]
	return e
}

func recRowBytes(e schema.Stored) []byte { return schema.AppendRow(nil, e) }

// recEqualRows compares two events by their encoded rows (NaN-aware: same bits).
func recEqualRows(a, b schema.Stored) bool { return bytes.Equal(recRowBytes(a), recRowBytes(b)) }

// pqReadAll reads every part of every dataset under dir into clones, keyed by dataset.
func pqReadAll(t testing.TB, dir string) map[string][]schema.Stored {
	t.Helper()
	out := map[string][]schema.Stored{}
	for _, tb := range schema.Tables() {
		err := ReadDataset(dir, tb.Name, time.Time{}, time.Time{}, func(e schema.Stored) error {
			out[tb.Name] = append(out[tb.Name], schema.Clone(e))
			return nil
		})
		if err != nil {
			t.Fatalf("read %s: %v", tb.Name, err)
		}
	}
	return out
}

func recBySeq(evs []schema.Stored) []schema.Stored {
	s := append([]schema.Stored(nil), evs...)
	sort.Slice(s, func(i, j int) bool { return s[i].Hdr().Seq < s[j].Hdr().Seq })
	return s
}

// recFakeSink stores accepted batches in memory. failWrite decides whether attempt n (1-based, counting every
// call) fails. Only accepted batches are stored, so "no loss, no duplicate" is exact.
type recFakeSink struct {
	name      string
	mu        sync.Mutex
	calls     int
	failWrite func(n int) bool
	block     chan struct{} // when set, Write waits for it to be closed
	got       map[string][]schema.Stored
	order     []uint64 // seqs in acceptance order, all tables
	closed    bool
}

func newRecFakeSink(name string) *recFakeSink {
	return &recFakeSink{name: name, got: map[string][]schema.Stored{}}
}

func (f *recFakeSink) Name() string                   { return f.name }
func (f *recFakeSink) Open(ctx context.Context) error { return nil }
func (f *recFakeSink) Pending() (uint64, bool)        { return 0, false }
func (f *recFakeSink) Flush(ctx context.Context) error {
	if f.failWrite != nil && f.failWrite(-1) {
		return errors.New("fake: flush failed")
	}
	return nil
}
func (f *recFakeSink) Close(ctx context.Context) error {
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
	return nil
}

func (f *recFakeSink) Write(ctx context.Context, b Batch) error {
	if f.block != nil {
		select {
		case <-f.block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.failWrite != nil && f.failWrite(f.calls) {
		return fmt.Errorf("fake: write %d failed", f.calls)
	}
	for _, e := range b.Events {
		f.got[b.Table.Name] = append(f.got[b.Table.Name], schema.Clone(e))
		f.order = append(f.order, e.Hdr().Seq)
	}
	return nil
}

func (f *recFakeSink) events(dataset string) []schema.Stored {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]schema.Stored(nil), f.got[dataset]...)
}

func (f *recFakeSink) total() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, v := range f.got {
		n += len(v)
	}
	return n
}

// recTickerGen makes realistic synthetic tickers (performance.md B4): Zipf-like activity over instruments,
// random-walk prices in tick units with about 5 significant digits, lognormal sizes in lots, constant
// open/sod per instrument, running high/low, cumulative volumes, 3.6 ms between events.
type recTickerGen struct {
	r     *rand.Rand
	insts []recTgInst
	cum   []float64
	seq   uint64
	ts    int64
	e     schema.Ticker
}

type recTgInst struct {
	id                string
	tick, px, open    float64
	high, low, vol    float64
	volCcy, sod, sod8 float64
}

func newRecTickerGen(seed uint64, n int) *recTickerGen {
	g := &recTickerGen{r: rand.New(rand.NewPCG(seed, 1)), seq: 1_700_000_000_000_000_000, ts: 1_767_225_600_000}
	total := 0.0
	for i := 0; i < n; i++ {
		mag := math.Pow(10, float64(g.r.IntN(6)))
		px := math.Round((1+9*g.r.Float64())*mag*1e4) / 1e4
		tick := mag / 1e4
		in := recTgInst{id: fmt.Sprintf("C%03d-USDT", i), tick: tick, px: px, open: px, high: px, low: px,
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

func (g *recTickerGen) next() *schema.Ticker {
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
