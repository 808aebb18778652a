package clickhouse

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/okxtape/okxtape/internal/testenv"
	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/store"
)

// chGenRow is a RowReader that fills any table's event with deterministic, awkward values: NaN floats, negative
// ints, quotes and unicode in strings, empty and non-empty lists.
type chGenRow struct {
	tab *schema.Table
	n   int
	i   int
}

func (g *chGenRow) name() string { c := g.tab.Columns[g.i]; g.i++; return c.Name }

func (g *chGenRow) Int64() int64 {
	switch g.name() {
	case "seq":
		return 1_000_000 + int64(g.n)
	case "recv_ns":
		return 1_700_000_000_000_000_000 + int64(g.n)*1_000_003
	case "ts":
		return 1_700_000_000_000 + int64(g.n)*997 // crosses no day boundary for small n
	}
	return int64(g.n*7 - 20)
}

func (g *chGenRow) Float64() float64 {
	g.name()
	if g.n%5 == 3 {
		return math.NaN()
	}
	return float64(g.n)*1.25 - 3
}

func (g *chGenRow) String() string {
	switch g.name() {
	case "inst_id":
		return []string{"BTC-USDT", "ETH-USDT-SWAP"}[g.n%2]
	case "channel":
		return g.tab.Name
	}
	if g.tab.Columns[g.i-1].Dict {
		return fmt.Sprintf("v'%d\\ü\"", g.n%3)
	}
	return fmt.Sprintf("v'%d\\ü\"", g.n) // unique: some are part of an event key (raw frames, order ids)
}

func (g *chGenRow) Bool() bool { g.name(); return g.n%2 == 0 }

func (g *chGenRow) Float64s(dst []float64) []float64 {
	g.name()
	dst = dst[:0]
	for k := 0; k < g.n%4; k++ {
		v := float64(g.n) + float64(k)/8
		if k == 2 {
			v = math.NaN()
		}
		dst = append(dst, v)
	}
	return dst
}

func (g *chGenRow) Int64s(dst []int64) []int64 {
	g.name()
	dst = dst[:0]
	for k := 0; k < g.n%4; k++ {
		dst = append(dst, int64(k-1))
	}
	return dst
}

// chGenEvents returns n events of table t with seq from 1_000_000+from.
func chGenEvents(t *schema.Table, from, n int) []schema.Stored {
	out := make([]schema.Stored, n)
	for k := range out {
		e := t.New()
		e.ReadRow(&chGenRow{tab: t, n: from + k})
		out[k] = e
	}
	return out
}

// chRowValues captures a row's values; chSameRow compares them with NaN equal to NaN.
type chRowValues []any

func (r *chRowValues) Int64(v int64)        { *r = append(*r, v) }
func (r *chRowValues) Float64(v float64)    { *r = append(*r, v) }
func (r *chRowValues) String(v string)      { *r = append(*r, v) }
func (r *chRowValues) Bool(v bool)          { *r = append(*r, v) }
func (r *chRowValues) Float64s(v []float64) { *r = append(*r, append([]float64{}, v...)) }
func (r *chRowValues) Int64s(v []int64)     { *r = append(*r, append([]int64{}, v...)) }

func chValues(e schema.Stored) chRowValues {
	var r chRowValues
	e.WriteRow(&r)
	return r
}

func chSameFloat(a, b float64) bool { return a == b || (math.IsNaN(a) && math.IsNaN(b)) }

func chSameRow(a, b chRowValues) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		switch x := a[i].(type) {
		case float64:
			if y, ok := b[i].(float64); !ok || !chSameFloat(x, y) {
				return false
			}
		case []float64:
			y, ok := b[i].([]float64)
			if !ok || len(x) != len(y) {
				return false
			}
			for j := range x {
				if !chSameFloat(x[j], y[j]) {
					return false
				}
			}
		case []int64:
			y, ok := b[i].([]int64)
			if !ok || fmt.Sprint(x) != fmt.Sprint(y) {
				return false
			}
		default:
			if a[i] != b[i] {
				return false
			}
		}
	}
	return true
}

var chQuietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

func chOpenTestSink(t testing.TB, dsn string, o Options) *Sink {
	t.Helper()
	if o.Logger == nil {
		o.Logger = chQuietLog
	}
	s, err := NewSink(dsn, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	return s
}

func chReadAll(t *testing.T, dsn, dataset string, q store.Query) []chRowValues {
	t.Helper()
	var got []chRowValues
	err := Read(context.Background(), dsn, dataset, q, func(e schema.Stored) error {
		got = append(got, chValues(e))
		return nil
	})
	if err != nil {
		t.Fatalf("read %s: %v", dataset, err)
	}
	return got
}

func TestClickHouseRoundTripEveryTable(t *testing.T) {
	dsn, admin := testenv.ClickHouseDB(t)
	s := chOpenTestSink(t, dsn, Options{})
	ctx := context.Background()
	var n uint64
	if err := admin.QueryRow(ctx, "SELECT count() FROM system.tables WHERE database = ?", s.Database()).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if int(n) != len(schema.Tables()) {
		t.Fatalf("%d tables created, want %d", n, len(schema.Tables()))
	}
	// Open again: CREATE ... IF NOT EXISTS must be idempotent.
	chOpenTestSink(t, dsn, Options{})

	const rows = 40
	for _, tab := range schema.Tables() {
		events := chGenEvents(tab, 0, rows)
		// Two batches, the second first: the reader must still return (ts, seq) order.
		if err := s.Write(ctx, store.Batch{Table: tab, Events: events[rows/2:]}); err != nil {
			t.Fatalf("%s: %v", tab.Name, err)
		}
		if err := s.Write(ctx, store.Batch{Table: tab, Events: events[:rows/2]}); err != nil {
			t.Fatalf("%s: %v", tab.Name, err)
		}
		got := chReadAll(t, dsn, tab.Name, store.Query{})
		if len(got) != rows {
			t.Fatalf("%s: read %d rows, want %d", tab.Name, len(got), rows)
		}
		for k, e := range events {
			if want := chValues(e); !chSameRow(got[k], want) {
				t.Fatalf("%s row %d:\n got %v\nwant %v", tab.Name, k, got[k], want)
			}
		}
		// Filters: one instrument, a time window [ts(10), ts(20)).
		q := store.Query{From: time.UnixMilli(events[10].Hdr().Ts), To: time.UnixMilli(events[20].Hdr().Ts),
			Insts: []string{"ETH-USDT-SWAP"}, Channels: []string{tab.Name}}
		got = chReadAll(t, dsn, tab.Name, q)
		var want int
		for _, e := range events {
			if q.Match(e.Hdr()) {
				want++
			}
		}
		if len(got) != want || want != 5 {
			t.Fatalf("%s: filtered read %d rows, want %d (5)", tab.Name, len(got), want)
		}
		if got := chReadAll(t, dsn, tab.Name, store.Query{Channels: []string{"nope"}}); len(got) != 0 {
			t.Fatalf("%s: unknown channel matched %d rows", tab.Name, len(got))
		}
	}
	st := s.Stats()
	if st.Rows["trades"] != rows || st.Rows["books"] != rows || len(st.Rows) != len(schema.Tables()) {
		t.Fatalf("stats: %v", st.Rows)
	}
}

func TestClickHouseRetriedBatchCountsOnce(t *testing.T) {
	dsn, admin := testenv.ClickHouseDB(t)
	s := chOpenTestSink(t, dsn, Options{})
	ctx := context.Background()
	events := chGenEvents(schema.TradeTable, 0, 100)
	for i := 0; i < 3; i++ { // the recorder retrying after a lost acknowledgement, then a spool recovery
		if err := s.Write(ctx, store.Batch{Table: schema.TradeTable, Events: events}); err != nil {
			t.Fatal(err)
		}
	}
	var final, vol float64
	var raw uint64
	q := fmt.Sprintf("SELECT count(), sum(sz) FROM %s.trades FINAL", quoteIdent(s.Database()))
	if err := admin.QueryRow(ctx, q).Scan(&raw, &vol); err != nil {
		t.Fatal(err)
	}
	final = float64(raw)
	if final != 100 {
		t.Fatalf("FINAL count %v, want 100", final)
	}
	if got := chReadAll(t, dsn, "trades", store.Query{}); len(got) != 100 {
		t.Fatalf("Read returned %d rows, want 100", len(got))
	}
	if err := admin.Exec(ctx, fmt.Sprintf("OPTIMIZE TABLE %s.trades FINAL", quoteIdent(s.Database()))); err != nil {
		t.Fatal(err)
	}
	if err := admin.QueryRow(ctx, fmt.Sprintf("SELECT count() FROM %s.trades", quoteIdent(s.Database()))).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	if raw != 100 {
		t.Fatalf("after OPTIMIZE FINAL: %d rows, want 100", raw)
	}
}

func TestClickHouseReadStopsOnCallbackError(t *testing.T) {
	dsn, _ := testenv.ClickHouseDB(t)
	s := chOpenTestSink(t, dsn, Options{})
	if err := s.Write(context.Background(), store.Batch{Table: schema.QuoteTable, Events: chGenEvents(schema.QuoteTable, 0, 10)}); err != nil {
		t.Fatal(err)
	}
	stop := fmt.Errorf("enough")
	calls := 0
	err := Read(context.Background(), dsn, "quotes", store.Query{}, func(schema.Stored) error {
		calls++
		if calls == 3 {
			return stop
		}
		return nil
	})
	if err != stop || calls != 3 {
		t.Fatalf("err %v after %d calls, want the callback's error after 3", err, calls)
	}
	if err := Read(context.Background(), dsn, "nope", store.Query{}, nil); err == nil {
		t.Fatal("unknown dataset accepted")
	}
}

// chProxy forwards to target; down() refuses new connections and cuts open ones, hang() accepts but never
// answers, up() restores forwarding on the same port.
type chProxy struct {
	target string
	addr   string
	mu     sync.Mutex
	ln     net.Listener
	conns  []net.Conn
	hung   bool
}

func newCHProxy(t *testing.T, target string) *chProxy {
	p := &chProxy{target: target}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(p.down)
	return p
}

func (p *chProxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			p.conns = append(p.conns, c)
			hung := p.hung
			p.mu.Unlock()
			if hung {
				continue // accepted, never answered
			}
			go func() {
				s, err := net.Dial("tcp", p.target)
				if err != nil {
					c.Close()
					return
				}
				p.mu.Lock()
				p.conns = append(p.conns, s)
				p.mu.Unlock()
				go func() { io.Copy(s, c); s.Close() }()
				io.Copy(c, s)
				c.Close()
			}()
		}
	}()
}

func (p *chProxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *chProxy) setHung(h bool) {
	p.down()
	p.mu.Lock()
	p.hung = h
	p.mu.Unlock()
}

func (p *chProxy) up(t *testing.T) {
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		t.Fatalf("proxy up again on %s: %v", p.addr, err)
	}
	p.serve(ln)
}

func TestClickHouseWriteWhileServerDown(t *testing.T) {
	dsn, admin := testenv.ClickHouseDB(t)
	u, _ := url.Parse(dsn)
	p := newCHProxy(t, u.Host)
	u.Host = p.addr
	o := Options{DialTimeout: time.Second, ReadTimeout: time.Second, Logger: chQuietLog}
	ctx := context.Background()
	p.down()

	// Open against a closed port fails fast; Write retries the setup once the server is reachable.
	s, err := NewSink(u.String(), o)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	start := time.Now()
	if err := s.Open(ctx); !store.IsTemporary(err) || time.Since(start) > 3*time.Second {
		t.Fatalf("open while down: err %v (temporary %v) after %v", err, store.IsTemporary(err), time.Since(start))
	}
	p.up(t)
	events := chGenEvents(schema.TradeTable, 0, 30)
	batch := func(i int) store.Batch { return store.Batch{Table: schema.TradeTable, Events: events[i*10 : i*10+10]} }
	if err := s.Write(ctx, batch(0)); err != nil {
		t.Fatalf("write after the server came up: %v", err)
	}

	for _, mode := range []string{"refused", "hung"} {
		if mode == "refused" {
			p.down()
		} else {
			p.setHung(true)
			p.up(t)
		}
		start = time.Now()
		err := s.Write(ctx, batch(1))
		if !store.IsTemporary(err) || time.Since(start) > 4*time.Second {
			t.Fatalf("%s: write while down: err %v (temporary %v) after %v", mode, err, store.IsTemporary(err), time.Since(start))
		}
		t.Logf("%s: write failed after %v: %v", mode, time.Since(start).Round(time.Millisecond), err)
		p.setHung(false)
		p.up(t)
		if err := s.Write(ctx, batch(1)); err != nil { // the recorder's retry of the same batch
			t.Fatalf("%s: retry after recovery: %v", mode, err)
		}
	}
	if err := s.Write(ctx, batch(2)); err != nil {
		t.Fatal(err)
	}
	var n uint64
	if err := admin.QueryRow(ctx, fmt.Sprintf("SELECT count() FROM %s.trades FINAL", quoteIdent(s.Database()))).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 30 {
		t.Fatalf("%d rows stored, want 30", n)
	}
}

func TestClickHouseModernDDLNeedsModernServer(t *testing.T) {
	// A modern server must accept the modern DDL; an old one (18.16) must reject it, which is why the DDL
	// depends on the version. The modern text itself is pinned by TestClickHouseDDLText.
	dsn, admin := testenv.ClickHouseDB(t)
	s := chOpenTestSink(t, dsn, Options{})
	ddl := DDL(s.Database(), &schema.Table{Name: "modern_check", Columns: schema.BookTable.Columns},
		ServerVersion{Major: 24, Minor: 8})
	err := admin.Exec(context.Background(), ddl)
	if s.ServerVersion().Modern() && err != nil {
		t.Fatalf("server %s rejects the modern DDL: %v", s.ServerVersion(), err)
	}
	if !s.ServerVersion().Modern() && err == nil {
		t.Fatalf("server %s accepts the modern DDL: lower the Modern() threshold", s.ServerVersion())
	}
}

func BenchmarkClickHouseInsert(b *testing.B) {
	dsn, _ := testenv.ClickHouseDB(b)
	s := chOpenTestSink(b, dsn, Options{})
	ctx := context.Background()
	for _, bc := range []struct {
		tab  *schema.Table
		rows int
	}{{schema.TradeTable, 10_000}, {schema.TickerTable, 10_000}, {schema.BookTable, 2_000}} {
		events := chGenEvents(bc.tab, 0, bc.rows)
		// Baseline: building the columns only, no network.
		b.Run(bc.tab.Name+"/columns-only", func(b *testing.B) {
			var w chColumns
			fb := &chFakeBatch{}
			for i := 0; i < b.N; i++ {
				if err := w.fill(fb, store.Batch{Table: bc.tab, Events: events}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(bc.rows*b.N)/b.Elapsed().Seconds(), "rows/s")
		})
		b.Run(fmt.Sprintf("%s/insert-%d", bc.tab.Name, bc.rows), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if err := s.Write(ctx, store.Batch{Table: bc.tab, Events: events}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(bc.rows*b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// chFakeBatch accepts appends without a server (benchmark baseline).
type chFakeBatch struct{ driver.Batch }

func (f *chFakeBatch) Column(int) driver.BatchColumn { return chFakeColumn{} }

type chFakeColumn struct{}

func (chFakeColumn) Append(any) error    { return nil }
func (chFakeColumn) AppendRow(any) error { return nil }
