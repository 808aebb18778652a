package schema

import (
	"math"
	"reflect"
	"strings"
	"testing"
)

// typeChecker is a RowWriter that checks every value against the table's column types.
type typeChecker struct {
	t   *testing.T
	tab *Table
	i   int
}

func (c *typeChecker) next(want ...Type) {
	c.t.Helper()
	if c.i >= len(c.tab.Columns) {
		c.t.Fatalf("%s: WriteRow wrote more values than the %d columns", c.tab.Name, len(c.tab.Columns))
	}
	got := c.tab.Columns[c.i].Type
	for _, w := range want {
		if got == w {
			c.i++
			return
		}
	}
	c.t.Fatalf("%s: column %d (%s) is %s, WriteRow wrote %v", c.tab.Name, c.i, c.tab.Columns[c.i].Name, got, want)
}
func (c *typeChecker) Int64(int64)        { c.next(Int64, TimeMs, TimeNs) }
func (c *typeChecker) Float64(float64)    { c.next(Float64) }
func (c *typeChecker) String(string)      { c.next(String) }
func (c *typeChecker) Bool(bool)          { c.next(Bool) }
func (c *typeChecker) Float64s([]float64) { c.next(Float64List) }
func (c *typeChecker) Int64s([]int64)     { c.next(Int64List) }

// TestTablesAreTheRegisteredKinds derives the table list from the kinds instead of counting it: Tables()
// holds each kind that has a table exactly once, in Kind order, with unique names and the header columns.
func TestTablesAreTheRegisteredKinds(t *testing.T) {
	var want []*Table
	for k := KindInvalid; k < NumKinds; k++ {
		if tab := TableOf(k); tab != nil {
			want = append(want, tab)
		}
	}
	got := Tables()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Tables() = %d tables, the kinds have %d", len(got), len(want))
	}
	names := map[string]bool{}
	for _, tab := range got {
		if names[tab.Name] {
			t.Errorf("table name %s used twice", tab.Name)
		}
		names[tab.Name] = true
		if len(tab.Columns) <= HeaderColumns || !reflect.DeepEqual(tab.Columns[:HeaderColumns], headerColumns) {
			t.Errorf("%s: does not start with the header columns", tab.Name)
		}
	}
	for _, ledger := range []*Table{GapTable, SessionTable, RawTable} {
		if !names[ledger.Name] {
			t.Errorf("ledger table %s is not listed", ledger.Name)
		}
	}
}

func TestEveryTableWritesItsColumns(t *testing.T) {
	for _, tab := range Tables() {
		e := tab.New()
		if e.Kind() != tab.Kind || TableOf(tab.Kind) != tab || TableByName(tab.Name) != tab {
			t.Fatalf("%s: registry mismatch", tab.Name)
		}
		c := &typeChecker{t: t, tab: tab}
		e.WriteRow(c)
		if c.i != len(tab.Columns) {
			t.Fatalf("%s: WriteRow wrote %d of %d columns", tab.Name, c.i, len(tab.Columns))
		}
	}
}

func TestCodecRoundTrip(t *testing.T) {
	events := []Stored{
		&Ticker{Header: Header{Seq: 7, RecvNs: 1e18, Channel: "tickers", InstID: "BTC-USDT", Ts: 1597026383085},
			InstType: "SPOT", Last: 9999.99, LastSz: 0.1, AskPx: math.NaN(), SodUtc8: 2222},
		&Trade{Header: Header{Seq: 8, InstID: "BTC-USDT"}, TradeID: -5, Px: 1.5, Side: SideSell, Count: 3},
		&Book{Header: Header{Seq: 9}, Action: ActionSnapshot, SeqID: 123456, PrevSeqID: -1, Checksum: -1881014294,
			Bids: []Level{{Px: 3366.1, Sz: 7, Orders: 1}}, Asks: []Level{{Px: 3366.8, Sz: 9}, {Px: 3368, Sz: 8, Orders: 2}}},
		&Candle{Header: Header{Channel: "candle1m"}, Open: 1, Close: 2, Confirm: true},
		&Session{SessionID: "s", Channels: "tickers,trades"},
		&BookSnapshot{Header: Header{Seq: 10, Channel: "books", InstID: "BTC-USDT", Ts: 1000}, Clock: ClockExchange,
			IntervalMs: 1000, Levels: 5, SeqID: 42, BookTs: 999, BidPx: []float64{2, 1}, BidSz: []float64{1, 3},
			AskPx: []float64{3}, AskSz: []float64{4}},
		&TradeBar{Header: Header{Seq: 11, Channel: "trades", InstID: "BTC-USDT", Ts: 1000}, IntervalMs: 1000,
			Open: 1, High: 2, Low: 0.5, Close: 1.5, Volume: 3, BuyVolume: 2, SellVolume: 1, Trades: 4, Vwap: 1.25},
	}
	for _, e := range events {
		buf := AppendRow(nil, e)
		got := TableOf(e.Kind()).New()
		if err := DecodeRow(buf, got); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(AppendRow(nil, got), buf) {
			t.Fatalf("%s: re-encoding differs", e.Kind())
		}
		if err := DecodeRow(buf[:len(buf)-1], TableOf(e.Kind()).New()); err == nil {
			t.Fatalf("%s: truncated row decoded without error", e.Kind())
		}
	}
	b := Clone(events[2]).(*Book)
	b.Bids[0].Px = 1
	if events[2].(*Book).Bids[0].Px != 3366.1 {
		t.Fatal("Clone shares level storage")
	}
}

func FuzzDecodeRow(f *testing.F) {
	f.Add(AppendRow(nil, &Book{Bids: []Level{{1, 2, 3}}}))
	f.Add([]byte{0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, tab := range Tables() {
			_ = DecodeRow(b, tab.New())
		}
	})
}

func TestInterningDecoderMatchesDecodeRow(t *testing.T) {
	var enc Encoder
	d := Decoder{Intern: true}
	for _, tab := range Tables() {
		e := tab.New()
		if b, ok := e.(*Book); ok {
			b.Bids = []Level{{1, 2, 3}}
			b.Action = ActionSnapshot
		}
		e.Hdr().InstID, e.Hdr().Channel = "BTC-USDT", "x"
		row := enc.Append(nil, e)
		if !reflect.DeepEqual(row, AppendRow(nil, e)) {
			t.Fatalf("%s: Encoder and AppendRow differ", tab.Name)
		}
		a, b := tab.New(), tab.New()
		if err := d.Decode(row, a); err != nil {
			t.Fatal(err)
		}
		if err := DecodeRow(row, b); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(AppendRow(nil, a), AppendRow(nil, b)) {
			t.Fatalf("%s: interning decoder differs", tab.Name)
		}
	}
	tk := &Ticker{Header: Header{InstID: "ETH-USDT", Channel: "tickers"}, InstType: "SPOT"}
	row := enc.Append(nil, tk)
	out := new(Ticker)
	if n := testing.AllocsPerRun(100, func() { d.Decode(row, out) }); n != 0 {
		t.Fatalf("interning decode of a ticker allocates %v times", n)
	}
	if n := testing.AllocsPerRun(100, func() { row = enc.Append(row[:0], tk) }); n != 0 {
		t.Fatalf("Encoder.Append allocates %v times", n)
	}
}

// TestEveryTableDeclaresItsEventKey walks the registry: every table (including ones added later) must say what
// identifies its events, with existing columns, inst_id among them (the cluster's sharding key must be part of
// the deduplication key, or FINAL cannot collapse copies that landed on different shards), and seq only where
// the rows are local facts of one recorder.
func TestEveryTableDeclaresItsEventKey(t *testing.T) {
	local := map[Kind]bool{KindGap: true}
	for _, tab := range Tables() {
		if len(tab.Key) == 0 {
			t.Errorf("%s: no Key: declare the columns that identify an event by what the exchange says", tab.Name)
			continue
		}
		seen := map[string]bool{}
		for i, k := range tab.Key {
			if tab.Index(k) < 0 {
				t.Errorf("%s: Key column %q does not exist", tab.Name, k)
			}
			if seen[k] {
				t.Errorf("%s: Key column %q twice", tab.Name, k)
			}
			seen[k] = true
			if got := tab.KeyIndexes()[i]; got != tab.Index(k) {
				t.Errorf("%s: KeyIndexes()[%d] = %d, want %d", tab.Name, i, got, tab.Index(k))
			}
		}
		if !seen["inst_id"] {
			t.Errorf("%s: Key %v lacks inst_id (the sharding key)", tab.Name, tab.Key)
		}
		if seen["seq"] != local[tab.Kind] || seen["recv_ns"] {
			t.Errorf("%s: Key %v: seq belongs only in keys of local ledgers, recv_ns in none", tab.Name, tab.Key)
		}
	}
}

func TestKeyEncoderSeesOnlyTheKey(t *testing.T) {
	var k KeyEncoder
	a := &Trade{Header: Header{Seq: 1, RecvNs: 10, Channel: "trades", InstID: "BTC-USDT", Ts: 5}, TradeID: 7, Px: 1}
	b := &Trade{Header: Header{Seq: 2, RecvNs: 20, Channel: "trades", InstID: "BTC-USDT", Ts: 5}, TradeID: 7, Px: 1}
	if string(k.Append(nil, a)) != string(k.Append(nil, b)) {
		t.Fatal("two copies of one trade (different seq and receive time) have different keys")
	}
	b.TradeID = 8
	if string(k.Append(nil, a)) == string(k.Append(nil, b)) {
		t.Fatal("two trades with different ids have the same key")
	}
	tk := &Ticker{Header: Header{Channel: "tickers", InstID: "BTC-USDT", Ts: 5}}
	if string(k.Append(nil, tk)) == string(k.Append(nil, a)) {
		t.Fatal("a ticker and a trade share a key encoding")
	}
}

func TestSplitList(t *testing.T) {
	for in, want := range map[string]string{"": "", "a": "a", " a , b,,c ": "a|b|c", ",,": ""} {
		if got := strings.Join(SplitList(in), "|"); got != want {
			t.Errorf("SplitList(%q) = %q, want %q", in, got, want)
		}
	}
}
