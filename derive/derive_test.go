package derive

import (
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/okxtape/okxtape/engine"
	"github.com/okxtape/okxtape/schema"
)

// run feeds events through a replay engine into a Deriver and returns the rows it wrote, Flush included.
func run(t *testing.T, c Config, events ...schema.Event) (snaps []*schema.BookSnapshot, bars []*schema.TradeBar, st Stats) {
	t.Helper()
	d, err := New(Options{Config: c, SeqStart: 100, Out: func(e schema.Stored) {
		switch r := schema.Clone(e).(type) {
		case *schema.BookSnapshot:
			snaps = append(snaps, r)
		case *schema.TradeBar:
			bars = append(bars, r)
		default:
			t.Fatalf("unexpected row %T", e)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	e := engine.New(engine.Options{Mode: engine.Replay})
	d.Attach(e)
	for _, ev := range events {
		e.Emit(ev)
	}
	d.Flush()
	return snaps, bars, d.Stats()
}

var seq uint64

func hdr(channel, inst string, ts int64) schema.Header {
	seq++
	return schema.Header{Seq: seq, RecvNs: ts*1e6 + 5e6, Channel: channel, InstID: inst, Ts: ts}
}

func lv(pxsz ...float64) []schema.Level {
	var out []schema.Level
	for i := 0; i+1 < len(pxsz); i += 2 {
		out = append(out, schema.Level{Px: pxsz[i], Sz: pxsz[i+1]})
	}
	return out
}

func snap(ts, seqID int64, bids, asks []schema.Level) *schema.Book {
	return &schema.Book{Header: hdr("books", "BTC-USDT", ts), Action: schema.ActionSnapshot, SeqID: seqID,
		PrevSeqID: -1, Bids: bids, Asks: asks}
}

func upd(ts, prev, seqID int64, bids, asks []schema.Level) *schema.Book {
	return &schema.Book{Header: hdr("books", "BTC-USDT", ts), Action: schema.ActionUpdate, SeqID: seqID,
		PrevSeqID: prev, Bids: bids, Asks: asks}
}

func trade(inst string, ts int64, px, sz float64, side string) *schema.Trade {
	return &schema.Trade{Header: hdr("trades", inst, ts), Px: px, Sz: sz, Side: side, Count: 1}
}

type snapRow struct {
	ts     int64
	gap    bool
	seqID  int64
	bidPx  []float64
	askPx  []float64
	levels int64
}

func rows(s []*schema.BookSnapshot) []snapRow {
	var out []snapRow
	for _, r := range s {
		out = append(out, snapRow{r.Ts, r.InGap, r.SeqID, r.BidPx, r.AskPx, r.Levels})
	}
	return out
}

func TestSnapshotsAtBoundaries(t *testing.T) {
	c := Config{Snapshots: []SnapshotSpec{{Levels: 2, Interval: time.Second}}}
	snaps, _, st := run(t, c,
		snap(500, 10, lv(100, 1, 99, 2, 98, 3), lv(101, 1, 102, 2)),
		upd(1000, 10, 11, lv(99, 0), nil), // exactly at the boundary: included in the 1000 row
		upd(1500, 11, 12, nil, lv(100.5, 1)),
		upd(3200, 12, 13, lv(100.2, 1), nil), // 2000 and 3000 both show the book after seqId 12
	)
	want := []snapRow{
		{1000, false, 11, []float64{100, 98}, []float64{101, 102}, 2},
		{2000, false, 12, []float64{100, 98}, []float64{100.5, 101}, 2},
		{3000, false, 12, []float64{100, 98}, []float64{100.5, 101}, 2},
	}
	if got := rows(snaps); !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
	if st.Rows["book_snapshots"] != 3 || snaps[0].Seq != 101 || snaps[2].Seq != 103 {
		t.Fatalf("stats %+v, seqs %d..%d", st, snaps[0].Seq, snaps[2].Seq)
	}
	if snaps[0].Channel != "books" || snaps[0].InstID != "BTC-USDT" || snaps[0].Clock != schema.ClockExchange ||
		snaps[0].IntervalMs != 1000 || snaps[0].BookTs != 1000 {
		t.Fatalf("row header %+v", snaps[0])
	}
}

func TestSnapshotsFlagGapsUntilTheNextSnapshot(t *testing.T) {
	c := Config{Snapshots: []SnapshotSpec{{Levels: 1, Interval: time.Second}}}
	gap := &schema.Gap{Header: hdr("books", "BTC-USDT", 1200), FromMs: 1200, ToMs: 4100, Reason: schema.GapSequence}
	snaps, _, st := run(t, c,
		upd(200, 5, 6, lv(1, 1), nil), // no snapshot yet: not valid
		snap(900, 10, lv(100, 1), lv(101, 1)),
		upd(1200, 10, 11, lv(100, 2), nil),
		gap, // detected after seqId 11
		snap(4100, 20, lv(90, 1), lv(91, 1)),
		upd(5000, 20, 21, nil, lv(90.5, 1)),
		upd(6500, 99, 100, nil, nil), // does not link: rows are missing
	)
	got := rows(snaps)
	exp := []snapRow{
		{1000, false, 10, []float64{100}, []float64{101}, 1},
		{2000, true, 11, nil, nil, 1},
		{3000, true, 11, nil, nil, 1},
		{4000, true, 11, nil, nil, 1},
		{5000, false, 21, []float64{90}, []float64{90.5}, 1},
		{6000, false, 21, []float64{90}, []float64{90.5}, 1},
	}
	if !reflect.DeepEqual(got, exp) {
		t.Fatalf("got  %+v\nwant %+v", got, exp)
	}
	if st.ChainBreaks != 1 || st.InGapRows != 3 {
		t.Fatalf("stats %+v", st)
	}
}

func TestSnapshotsThroughADisconnect(t *testing.T) {
	c := Config{Snapshots: []SnapshotSpec{{Levels: 1, Interval: time.Second}}}
	other := func(ts, prev, seqID int64) *schema.Book {
		b := upd(ts, prev, seqID, lv(float64(ts), 1), nil)
		b.InstID = "ETH-USDT"
		return b
	}
	ethSnap := snap(100, 1, lv(1, 1), lv(2_000_000, 1))
	ethSnap.InstID = "ETH-USDT"
	disc := &schema.Gap{Header: hdr("", "", 1500), FromMs: 1500, ToMs: 3300, Reason: schema.GapDisconnect, Conn: "public#0"}
	// BTC-USDT was on the connection that dropped (it restarts with a snapshot); ETH-USDT was not (its next
	// update links). In replay order the gap comes where the outage began.
	snaps, _, _ := run(t, c,
		ethSnap,
		snap(400, 10, lv(100, 1), lv(101, 1)),
		disc,
		other(2500, 1, 2),
		snap(3400, 20, lv(90, 1), lv(91, 1)),
		other(4200, 2, 3),
	)
	var btc, eth []snapRow
	for _, r := range snaps {
		if r.InstID == "BTC-USDT" {
			btc = append(btc, rows([]*schema.BookSnapshot{r})...)
		} else {
			eth = append(eth, rows([]*schema.BookSnapshot{r})...)
		}
	}
	wantBTC := []snapRow{
		{1000, false, 10, []float64{100}, []float64{101}, 1},
		{2000, true, 10, nil, nil, 1},
		{3000, true, 10, nil, nil, 1},
		{4000, false, 20, []float64{90}, []float64{91}, 1},
	}
	if !reflect.DeepEqual(btc, wantBTC) {
		t.Fatalf("BTC-USDT got  %+v\nwant %+v", btc, wantBTC)
	}
	for _, r := range eth {
		if r.gap {
			t.Fatalf("ETH-USDT (another connection) flagged: %+v", eth)
		}
	}
	if len(eth) != 4 {
		t.Fatalf("ETH-USDT rows %+v", eth)
	}
}

func TestSnapshotsOnTheLocalClock(t *testing.T) {
	c := Config{Snapshots: []SnapshotSpec{{Levels: 1, Interval: 100 * time.Millisecond}}, Clock: schema.ClockLocal}
	a := snap(1000, 1, lv(10, 1), lv(11, 1)) // received at 1005 ms
	b := upd(1000, 1, 2, lv(10.5, 1), nil)
	b.RecvNs = 1_150_000_000 // same exchange time, received 145 ms later
	snaps, _, _ := run(t, c, a, b)
	got := rows(snaps)
	want := []snapRow{{1100, false, 1, []float64{10}, []float64{11}, 1}}
	if !reflect.DeepEqual(got, want) || snaps[0].Clock != schema.ClockLocal {
		t.Fatalf("got %+v want %+v", got, want)
	}
}

func TestTradeBars(t *testing.T) {
	c := Config{Bars: []time.Duration{time.Second, time.Minute}}
	t1 := trade("BTC-USDT", 1500, 100, 1, schema.SideBuy)
	t2 := trade("BTC-USDT", 1200, 101, 2, schema.SideSell) // earlier exchange time, arrived later: the open
	t3 := trade("BTC-USDT", 1900, 99, 1, schema.SideBuy)
	t4 := trade("BTC-USDT", 1900, 98, 1, schema.SideBuy) // same ts as t3, arrived later: the close
	t5 := trade("BTC-USDT", 4000, 105, 2, schema.SideSell)
	t5.Count = 3
	eth := trade("ETH-USDT", 1000, 10, 5, schema.SideSell)
	bad := trade("BTC-USDT", 4100, math.NaN(), 1, schema.SideBuy)
	_, bars, st := run(t, c, t1, t2, eth, t3, t4, t5, bad)
	type bar struct {
		inst               string
		iv, start          int64
		o, h, l, cl, v, bv float64
		n                  int64
	}
	var got []bar
	for _, b := range bars {
		got = append(got, bar{b.InstID, b.IntervalMs, b.Ts, b.Open, b.High, b.Low, b.Close, b.Volume, b.BuyVolume, b.Trades})
	}
	want := []bar{
		{"BTC-USDT", 1000, 1000, 101, 101, 98, 98, 5, 3, 4}, // 2000 and 3000 had no trades: no rows
	}
	if !reflect.DeepEqual(got[:1], want) {
		t.Fatalf("first bar %+v want %+v", got[:1], want)
	}
	find := func(inst string, iv, start int64) *schema.TradeBar {
		for _, b := range bars {
			if b.InstID == inst && b.IntervalMs == iv && b.Ts == start {
				return b
			}
		}
		t.Fatalf("no %s %d bar at %d in %+v", inst, iv, start, got)
		return nil
	}
	m := find("BTC-USDT", 60_000, 0)
	if m.Open != 101 || m.Close != 105 || m.Volume != 7 || m.SellVolume != 4 || m.BuyVolume != 3 || m.Trades != 7 {
		t.Fatalf("minute bar %+v", m)
	}
	if w := (100*1 + 101*2 + 99 + 98 + 105*2) / 7.0; math.Abs(m.Vwap-w) > 1e-12 {
		t.Fatalf("vwap %v want %v", m.Vwap, w)
	}
	if b := find("BTC-USDT", 1000, 4000); b.Open != 105 || b.Trades != 3 {
		t.Fatalf("last bar %+v", b)
	}
	find("ETH-USDT", 1000, 1000)
	if len(bars) != 5 || st.InvalidTrades != 1 || st.Rows["trade_bars"] != 5 {
		t.Fatalf("%d bars %+v, stats %+v", len(bars), got, st)
	}
}

func TestLateTradeIsCountedNotMerged(t *testing.T) {
	c := Config{Bars: []time.Duration{time.Second}}
	_, bars, st := run(t, c, trade("X", 1500, 1, 1, schema.SideBuy), trade("X", 2500, 2, 1, schema.SideBuy),
		trade("X", 1700, 3, 1, schema.SideBuy))
	if st.LateTrades != 1 || len(bars) != 2 || bars[0].High != 1 {
		t.Fatalf("stats %+v bars %+v", st, bars)
	}
}

func TestParse(t *testing.T) {
	good := map[string][]SnapshotSpec{
		"5@1s":            {{5, time.Second}},
		"25@100ms, 5@1m":  {{25, 100 * time.Millisecond}, {5, time.Minute}},
		"1@1d,1000@250ms": {{1, 24 * time.Hour}, {1000, 250 * time.Millisecond}},
	}
	for in, want := range good {
		got, err := ParseSnapshots(in)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("ParseSnapshots(%q) = %v, %v", in, got, err)
		}
	}
	for _, in := range []string{"5", "0@1s", "1001@1s", "5@50ms", "5@7s", "5@2d", "5@1.5ms", "x@1s", "5@1s,5@1s", "5@"} {
		if _, err := ParseSnapshots(in); err == nil {
			t.Errorf("ParseSnapshots(%q) accepted", in)
		}
	}
	if b, err := ParseBars("100ms,1s,15m,4h,1d"); err != nil || len(b) != 5 || b[4] != 24*time.Hour {
		t.Errorf("ParseBars: %v %v", b, err)
	}
	for _, in := range []string{"90ms", "1s,1s", "13m", "soon"} {
		if _, err := ParseBars(in); err == nil {
			t.Errorf("ParseBars(%q) accepted", in)
		}
	}
	for d, s := range map[time.Duration]string{100 * time.Millisecond: "100ms", time.Second: "1s", 90 * time.Minute: "90m",
		4 * time.Hour: "4h", 24 * time.Hour: "1d", 1500 * time.Millisecond: "1500ms"} {
		if got := FormatInterval(d); got != s {
			t.Errorf("FormatInterval(%v) = %q, want %q", d, got, s)
		}
	}
	c, err := ParseSpec("book-snapshots=5@1s,25@100ms trade-bars=1s clock=local")
	if err != nil || len(c.Snapshots) != 2 || len(c.Bars) != 1 || c.Clock != schema.ClockLocal {
		t.Errorf("ParseSpec: %+v %v", c, err)
	}
	for _, in := range []string{"", "clock=local", "book-snapshots", "bars=1s", "trade-bars=1s clock=utc"} {
		if _, err := ParseSpec(in); err == nil {
			t.Errorf("ParseSpec(%q) accepted", in)
		}
	}
	if _, err := New(Options{Config: Config{Bars: []time.Duration{time.Second}}}); err == nil {
		t.Error("New without Out accepted")
	}
}

func TestSilentBookSkipsBoundariesOlderThanADay(t *testing.T) {
	c := Config{Snapshots: []SnapshotSpec{{Levels: 1, Interval: time.Hour}}}
	day := int64(24 * 3600 * 1000)
	snaps, _, st := run(t, c, snap(1000, 1, lv(1, 1), lv(2, 1)), upd(3*day+1000, 1, 2, nil, nil))
	if len(snaps) != 24 || st.SkippedBoundaries != 48 || snaps[0].Ts != 2*day+3600_000 || snaps[23].Ts != 3*day {
		t.Fatalf("%d rows from %d, skipped %d", len(snaps), snaps[0].Ts, st.SkippedBoundaries)
	}
}

func FuzzParseSpec(f *testing.F) {
	for _, s := range []string{"book-snapshots=5@1s,25@100ms trade-bars=1s,1m clock=local", "trade-bars=1d", "x=y", "book-snapshots=@"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseSpec(s)
		if err != nil {
			return
		}
		for _, sp := range c.Snapshots {
			if sp.Levels < 1 || sp.Levels > MaxLevels || sp.Interval < MinInterval || (24*time.Hour)%sp.Interval != 0 {
				t.Fatalf("%q accepted %v", s, sp)
			}
			if back, err := ParseSnapshots(sp.String()); err != nil || back[0] != sp {
				t.Fatalf("%v does not round trip: %v %v", sp, back, err)
			}
		}
		for _, b := range c.Bars {
			if b < MinInterval || b > MaxInterval || (24*time.Hour)%b != 0 {
				t.Fatalf("%q accepted bar %v", s, b)
			}
		}
	})
}

func TestStandaloneBookThroughADisconnect(t *testing.T) {
	c := Config{Snapshots: []SnapshotSpec{{Levels: 1, Interval: time.Second}}}
	b5 := func(ts int64, inst string) *schema.Book {
		b := snap(ts, 0, lv(100, 1), lv(101, 1))
		b.Channel, b.InstID, b.PrevSeqID = "books5", inst, 0
		return b
	}
	disc := &schema.Gap{Header: hdr("", "", 1500), FromMs: 1500, ToMs: 3300, Reason: schema.GapDisconnect}
	// A was on the dropped connection: its next message is received after the reconnect (3300). B's next
	// message is received at 2605, inside the window: B's connection was up.
	snaps, _, _ := run(t, c, b5(400, "A"), b5(600, "B"), disc, b5(2600, "B"), b5(3400, "A"))
	flagged := map[string][]int64{}
	for _, r := range snaps {
		if r.InGap {
			flagged[r.InstID] = append(flagged[r.InstID], r.Ts)
		}
	}
	if !reflect.DeepEqual(flagged, map[string][]int64{"A": {2000, 3000}}) {
		t.Fatalf("flagged %v", flagged)
	}
}
