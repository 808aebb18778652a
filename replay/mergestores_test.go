package replay

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/store"
	"github.com/okxtape/okxtape/store/parquet"
)

// feedEvent is one exchange event of the synthetic feed: what OKX sent, before any recorder saw it.
func feedEvent(i int) schema.Stored {
	insts := []string{"BTC-USDT", "ETH-USDT", "SOL-USDT"}
	inst := insts[i%3]
	ts := day0 + int64(i/2)*7 // pairs of events share an exchange ts: ties inside a stream
	if i%5 == 4 {
		return ticker(0, ts, inst, 100+float64(i%13))
	}
	return trade(0, ts, inst, int64(i), 100+float64(i%17))
}

// recording is what one recorder stored of the feed: event i arrives (if have(i)) at its ts plus a
// recorder-specific delay, numbered by the engine's hybrid clock.
func recording(seed uint64, n int, have func(i int) bool) []schema.Stored {
	r := rand.New(rand.NewPCG(seed, 1))
	var out []schema.Stored
	var seq uint64
	for i := 0; i < n; i++ {
		if !have(i) {
			continue
		}
		e := feedEvent(i)
		h := e.Hdr()
		h.RecvNs = h.Ts*1e6 + 2e6 + r.Int64N(3e6)
		seq = max(seq+1, uint64(h.RecvNs))
		h.Seq = seq
		out = append(out, e)
	}
	return out
}

func tsOf(i int) int64 { return feedEvent(i).Hdr().Ts }

func sessionOf(id string, seq uint64, start, end int64) *schema.Session {
	return &schema.Session{Header: schema.Header{Seq: seq, Ts: start}, SessionID: id, StartMs: start, EndMs: end,
		Channels: "tickers,trades", Instruments: "BTC-USDT,ETH-USDT,SOL-USDT"}
}

func gapRow(seq uint64, channel, inst string, from, to int64) *schema.Gap {
	return &schema.Gap{Header: schema.Header{Seq: seq, Channel: channel, InstID: inst, Ts: from}, FromMs: from, ToMs: to,
		Reason: schema.GapDisconnect, Conn: "public#0"}
}

// streamRows replays a store over q and returns each stream's rows (without the local columns) in replay
// order: what strategies.Digest chains.
func streamRows(t *testing.T, dir string, q store.Query) map[string][]string {
	t.Helper()
	s, err := Open(context.Background(), NewParquetSource(dir), q, []*schema.Table{schema.TickerTable, schema.TradeTable})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out := map[string][]string{}
	for ev := s.Next(); ev != nil; ev = s.Next() {
		c := schema.Clone(ev)
		c.Hdr().Seq, c.Hdr().RecvNs = 0, 0
		h := c.Hdr()
		k := fmt.Sprint(c.Kind(), h.Channel, h.InstID)
		out[k] = append(out[k], string(schema.AppendRow(nil, c)))
	}
	if s.Err() != nil {
		t.Fatal(s.Err())
	}
	return out
}

// TestMergeStoresOfTwoRecorders merges the stores of two recorders of one feed that overlap in time, each with
// an outage: every event either recorded is in the output once, each stream replays as both recorders saw it,
// and the gap ledger keeps only what neither recorded.
func TestMergeStoresOfTwoRecorders(t *testing.T) {
	const n = 1000
	root := t.TempDir()
	a, b, out := filepath.Join(root, "a"), filepath.Join(root, "b"), filepath.Join(root, "out")
	// A runs for events 0..699 and misses BTC-USDT trades 200..250 (its gap); B runs for 300..999 and misses
	// everything in 500..549 (a connection-wide gap).
	aMiss := func(i int) bool { return i >= 200 && i <= 250 && i%3 == 0 && i%5 != 4 }
	evA := recording(1, 700, func(i int) bool { return !aMiss(i) })
	evB := recording(2, n, func(i int) bool { return i >= 300 && (i < 500 || i > 549) })
	evA = append(evA, sessionOf("sa", 10, day0-1000, tsOf(699)+1),
		gapRow(12, "trades", "BTC-USDT", tsOf(200), tsOf(250)), // before B started: stays a gap
		gapRow(13, "trades", "ETH-USDT", tsOf(280), tsOf(320))) // B started at 300: trimmed to 280..299
	evB = append(evB, sessionOf("sb", 20, tsOf(300), tsOf(n-1)+1),
		gapRow(21, "", "", tsOf(500), tsOf(549))) // A recorded it all: covered
	writeStore(t, a, parquet.Options{}, evA)
	writeStore(t, b, parquet.Options{}, evB)

	st, err := MergeStores(context.Background(), MergeOptions{Dirs: []string{a, b}, Out: out})
	if err != nil {
		t.Fatal(err)
	}
	// Every feed event someone recorded, once.
	var want int
	for i := 0; i < n; i++ {
		if (i < 700 && !aMiss(i)) || (i >= 300 && (i < 500 || i > 549)) {
			want++
		}
	}
	got := map[string]int{}
	ids := map[string]bool{}
	err = parquet.ReadDataset(out, "trades", time.Time{}, time.Time{}, func(e schema.Stored) error {
		tr := e.(*schema.Trade)
		id := fmt.Sprint(tr.InstID, tr.TradeID)
		if ids[id] {
			t.Errorf("trade %s twice", id)
		}
		ids[id] = true
		got["trades"]++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = parquet.ReadDataset(out, "tickers", time.Time{}, time.Time{}, func(schema.Stored) error { got["tickers"]++; return nil })
	if got["trades"]+got["tickers"] != want || st.Written["trades"]+st.Written["tickers"] != uint64(want) {
		t.Fatalf("merged %v (stats %v), want %d events", got, st.Written, want)
	}
	if dups := st.Duplicates["trades"] + st.Duplicates["tickers"]; dups != uint64(len(evA)+len(evB)-5-want) {
		t.Fatalf("%d duplicates left out, want %d", dups, len(evA)+len(evB)-5-want)
	}
	if st.Gaps != (GapCoverage{In: 3, Covered: 1, Trimmed: 1, Kept: 1}) || st.Sessions != 2 {
		t.Fatalf("gaps %+v sessions %d", st.Gaps, st.Sessions)
	}
	var gaps []*schema.Gap
	_ = parquet.ReadDataset(out, "gaps", time.Time{}, time.Time{}, func(e schema.Stored) error {
		gaps = append(gaps, schema.Clone(e).(*schema.Gap))
		return nil
	})
	slices.SortFunc(gaps, func(x, y *schema.Gap) int { return int(x.FromMs - y.FromMs) })
	if len(gaps) != 2 || gaps[0].FromMs != tsOf(200) || gaps[1].FromMs != tsOf(280) || gaps[1].ToMs != tsOf(300)-1 ||
		!strings.Contains(gaps[1].Detail, "another recorder") {
		t.Fatalf("recomputed ledger: %+v", gaps)
	}
	// Replay parity: over the time A recorded, the merged store replays each stream as A saw it; over the time
	// B recorded after its outage, as B saw it.
	for _, c := range []struct {
		dir      string
		from, to int
	}{{a, 0, 700}, {b, 550, n}, {b, 300, 500}} {
		q := store.Query{From: time.UnixMilli(tsOf(c.from)), To: time.UnixMilli(tsOf(c.to-1) + 1)}
		want, got := streamRows(t, c.dir, q), streamRows(t, out, q)
		if len(want) == 0 || fmt.Sprint(want) != fmt.Sprint(got) {
			t.Fatalf("%s over events %d..%d: the merged store replays differently (%d vs %d streams)", c.dir, c.from, c.to, len(got), len(want))
		}
	}
	// The output is a store like any other, and merging again is refused.
	if _, err := MergeStores(context.Background(), MergeOptions{Dirs: []string{a, b}, Out: out}); err == nil {
		t.Fatal("merging into a folder that holds Parquet files succeeded")
	}
	if _, err := MergeStores(context.Background(), MergeOptions{Dirs: []string{a, a}, Out: a}); err == nil {
		t.Fatal("merging into an input succeeded")
	}
}

func TestUncoveredSubtractsWindows(t *testing.T) {
	ws := subtract([]window{{0, 100}}, []window{{10, 20}, {50, 200}})
	if fmt.Sprint(ws) != "[{0 9} {21 49}]" {
		t.Fatalf("got %v", ws)
	}
	if len(subtract([]window{{5, 6}}, []window{{0, 10}})) != 0 {
		t.Fatal("a covered window remains")
	}
}

// TestCoverageByCount: two recorders' rows in one ledger, without saying whose each is.
func TestCoverageByCount(t *testing.T) {
	sessions := []*schema.Session{sessionOf("a", 1, 0, 1000), sessionOf("b", 2, 500, 0)} // b never stopped cleanly
	gaps := []*schema.Gap{
		gapRow(3, "trades", "BTC-USDT", 100, 200),   // only a ran: a gap
		gapRow(4, "", "", 600, 700),                 // a blind, b recording: covered
		gapRow(5, "trades", "ETH-USDT", 650, 690),   // b blind too while a was: 650..690 nobody saw ETH trades
		gapRow(6, "tickers", "BTC-USDT", 950, 1100), // both ran until 1000 (covered), then b alone: the gap is b's
		gapRow(7, "trades", "BTC-USDT", 1400, 1600), // b alone and blind, and b's data ends at 1500
	}
	got := CoverageByCount(sessions, gaps, 1500)
	want := []string{"gap [[100 200]]", "partly covered [[650 690]]", "gap [[650 690]]", "partly covered [[1001 1100]]", "gap [[1400 1600]]"}
	for i, r := range got {
		if s := fmt.Sprintf("%s %v", r.Status(), r.Uncovered); s != want[i] {
			t.Errorf("gap %d: %s, want %s", i, s, want[i])
		}
	}
	if got[1].Covered != 101-41 {
		t.Errorf("covered ms of the connection-wide gap: %d, want 60", got[1].Covered)
	}
}

// BenchmarkMergeStores merges the 1M-ticker bench store with itself (every row a duplicate: the most the merge
// has to remember), reporting rows read per second and the peak heap in use, which stays at a few part files
// plus a minute of keys however long the stores are.
func BenchmarkMergeStores(b *testing.B) {
	dir := benchStore(b)
	// Peak heap in use, sampled every 5 ms (includes garbage not yet collected).
	peak, stop := samplePeakHeap(5 * time.Millisecond)
	defer stop()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		st, err := MergeStores(context.Background(), MergeOptions{Dirs: []string{dir, dir}, Out: filepath.Join(b.TempDir(), "m"),
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil || st.Written["tickers"] != benchTickers || st.Duplicates["tickers"] != benchTickers {
			b.Fatalf("written %v duplicates %v err %v", st.Written, st.Duplicates, err)
		}
	}
	b.ReportMetric(float64(2*benchTickers*b.N)/b.Elapsed().Seconds(), "rows-read/s")
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
}
