package replay

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/okxtape/okxtape/store/parquet"

	"github.com/okxtape/okxtape/engine"
	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/store"
)

func TestTimersFireInEventTime(t *testing.T) {
	dir := t.TempDir()
	var evs []schema.Stored
	for i := 0; i < 50; i++ { // one ticker every 100 ms of event time: 0 .. 4.9 s
		evs = append(evs, ticker(uint64(10+i), day0+int64(i)*100, "BTC-USDT", 1))
	}
	writeStore(t, dir, parquet.Options{}, evs)
	q := store.Query{}
	s, e := openEngine(t, dir, q)
	if got := e.Now().UnixMilli(); got != day0 {
		t.Fatalf("clock starts at %d, want the first event %d", got, day0)
	}
	var fired []int64
	var seen int
	// Attached like a strategy: the timer counts from the start of the data, not from 1970.
	e.Every(time.Second, "tick", func() { fired = append(fired, e.Now().UnixMilli()-day0) })
	engine.On(e, "count", func(tk *schema.Ticker) {
		seen++
		if e.Now().UnixMilli() != tk.Ts {
			t.Errorf("Now %d during event at %d", e.Now().UnixMilli(), tk.Ts)
		}
	})
	st, err := Run(context.Background(), e, s, RunOptions{End: time.UnixMilli(day0 + 6000)})
	if err != nil || st.Events != 50 || seen != 50 {
		t.Fatalf("events %d seen %d err %v", st.Events, seen, err)
	}
	want := []int64{1000, 2000, 3000, 4000, 5000, 6000}
	if len(fired) != len(want) {
		t.Fatalf("timer fired at %v, want %v", fired, want)
	}
	for i := range want {
		if fired[i] != want[i] {
			t.Fatalf("timer fired at %v, want %v", fired, want)
		}
	}
	if st.PerChannel["tickers"] != 50 {
		t.Fatalf("per channel %v", st.PerChannel)
	}
}

func TestPacedReplayTakesAboutRangeOverSpeed(t *testing.T) {
	dir := t.TempDir()
	var evs []schema.Stored
	for i := 0; i <= 20; i++ { // 2 s of event time
		evs = append(evs, ticker(uint64(10+i), day0+int64(i)*100, "BTC-USDT", 1))
	}
	writeStore(t, dir, parquet.Options{}, evs)
	s, e := openEngine(t, dir, store.Query{})
	start := time.Now()
	st, err := Run(context.Background(), e, s, RunOptions{Speed: 10})
	took := time.Since(start)
	if err != nil || st.Events != 21 {
		t.Fatalf("events %d err %v", st.Events, err)
	}
	// 2 s at speed 10 is about 200 ms; assert loosely (at least half) so a slow machine does not fail it.
	if took < 100*time.Millisecond {
		t.Fatalf("paced replay took %v, want about 200ms", took)
	}
}

func TestRunStopsOnCancel(t *testing.T) {
	dir := t.TempDir()
	evs := []schema.Stored{ticker(1, day0, "BTC-USDT", 1), ticker(2, day0+3_600_000, "BTC-USDT", 1)}
	writeStore(t, dir, parquet.Options{}, evs)
	s, e := openEngine(t, dir, store.Query{})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := Run(ctx, e, s, RunOptions{Speed: 1}); err == nil {
		t.Fatal("a paced hour-long replay returned without the context error")
	}
}

func TestParseSpeed(t *testing.T) {
	for in, want := range map[string]float64{"max": 0, "1": 1, "10": 10, "0.5": 0.5, "10x": 10, "MAX": 0} {
		if got, err := ParseSpeed(in); err != nil || got != want {
			t.Errorf("ParseSpeed(%q) = %v, %v", in, got, err)
		}
	}
	for _, in := range []string{"fast", "-1", "NaN", "1e-300", "0.0009", "Inf", "2e9"} {
		if _, err := ParseSpeed(in); err == nil {
			t.Errorf("ParseSpeed(%q) accepted", in)
		}
	}
}

func TestBarDrawsProgress(t *testing.T) {
	var buf bytes.Buffer
	b := NewBar(&buf, day0, day0+1000)
	b.Update(10, day0+500)
	b.Finish()
	if !strings.Contains(buf.String(), "10 events") {
		t.Fatalf("bar output %q", buf.String())
	}
}

// TestReplayTablesLeaveOutDerivedDatasets: derived rows were never dispatched live (they go straight to the
// recorder), so replaying them would add events that a live digest did not see.
func TestReplayTablesLeaveOutDerivedDatasets(t *testing.T) {
	for _, tab := range ReplayTables() {
		if tab.Derived || tab == schema.RawTable || tab == schema.SessionTable {
			t.Errorf("replay merges %s", tab.Name)
		}
	}
	if !schema.BookSnapshotTable.Derived || !schema.TradeBarTable.Derived {
		t.Error("the derived tables are not marked Derived")
	}
}

// TestRunClockIsTheLargestTsSoFar: an unpaced Run moves the engine's clock by merge keys (Stream.NextKey)
// under one hold of the dispatch lock; during each event Now is still exactly the largest ts of the events
// dispatched so far, this one included, on streams whose ts goes backwards across row groups and slices,
// and the stats' first and last ts are the first event's and the largest.
func TestRunClockIsTheLargestTsSoFar(t *testing.T) {
	dir := t.TempDir()
	evs := randomEvents(11, 4000, []string{"BTC-USDT", "ETH-USDT", "SOL-USDT"})
	writeStore(t, dir, parquet.Options{RowGroupRows: 100}, evs)
	defer func(n int) { sliceRows = n }(sliceRows)
	sliceRows = 16
	q := store.Query{}
	s, e := openEngine(t, dir, q)
	var first, maxTs int64
	n, backwards := 0, 0
	e.OnAll("clock", func(ev schema.Event) {
		ts := ev.Hdr().Ts
		if n == 0 {
			first = ts
		}
		if ts < maxTs {
			backwards++
		}
		maxTs = max(maxTs, ts)
		n++
		if now := e.Now().UnixMilli(); now != maxTs {
			t.Fatalf("event %d (ts %d): Now %d, want the largest ts so far %d", n, ts, now, maxTs)
		}
	})
	st, err := Run(context.Background(), e, s, RunOptions{})
	if err != nil || st.Events != uint64(len(evs)) || n != len(evs) {
		t.Fatalf("events %d (handler %d) of %d, err %v", st.Events, n, len(evs), err)
	}
	if backwards == 0 {
		t.Fatal("no event went back in time: the test proves nothing")
	}
	if st.FirstTs != first || st.LastTs != maxTs {
		t.Fatalf("stats first %d last %d, want %d %d", st.FirstTs, st.LastTs, first, maxTs)
	}
}
