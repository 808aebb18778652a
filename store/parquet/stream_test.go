package parquet

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/okxtape/okxtape/internal/storetest"
	"github.com/okxtape/okxtape/internal/testenv"
	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/store"
)

// streamInput makes n events per table in arrival (seq) order over instruments of very different rates (the
// last ones are small enough to be packed), with each instrument's ts running forward but up to 15 ms back
// now and then: arrival order and (ts, seq) order differ within the writer's lookahead.
func streamInput(seed uint64, n int) map[*schema.Table][]schema.Stored {
	r := rand.New(rand.NewPCG(seed, 7))
	insts := []string{"BTC-USDT", "ETH-USDT", "SOL-USDT", "XRP-USDT", "DOGE-USDT", "ZZ-A", "ZZ-B"}
	weights := []int{40, 25, 20, 10, 3, 1, 1}
	last := map[string]int64{}
	out := map[*schema.Table][]schema.Stored{}
	seq := uint64(1000)
	for _, tb := range []*schema.Table{schema.TickerTable, schema.BookTable, schema.RawTable, schema.TradeTable} {
		for i := 0; i < n; i++ {
			w := r.IntN(100)
			k := 0
			for w >= weights[k] {
				w -= weights[k]
				k++
			}
			inst := insts[k]
			ts := storetest.Day0 + 3_600_000 + last[inst] + int64(r.IntN(20))
			last[inst] = ts - storetest.Day0 - 3_600_000
			if r.IntN(8) == 0 {
				ts -= int64(r.IntN(16))
			}
			seq++
			e := storetest.RandEvent(r, tb, seq, ts)
			e.Hdr().InstID = inst
			out[tb] = append(out[tb], e)
		}
	}
	return out
}

// sortedByInst returns evs in the order the whole-file writer stored them: (inst_id, ts, seq).
func sortedByInst(evs []schema.Stored) []schema.Stored {
	out := slices.Clone(evs)
	slices.SortFunc(out, func(a, b schema.Stored) int {
		x, y := a.Hdr(), b.Hdr()
		return cmp.Or(strings.Compare(x.InstID, y.InstID), cmp.Compare(x.Ts, y.Ts), cmp.Compare(x.Seq, y.Seq))
	})
	return out
}

// TestStreamingWriterMatchesSortedFiles: the streaming writer's files hold, row for row, what the whole-file
// writer stored for the same input: per file the rows whose seq lies in its name's range, each instrument's
// rows in (ts, seq) order (read back with ReadFile, and by DuckDB ordered by inst_id, ts, seq), in row groups
// each sorted by (inst_id, ts, seq) that hold one instrument each except for the packed small ones. With a
// small budget (row groups written early) the content is the same.
func TestStreamingWriterMatchesSortedFiles(t *testing.T) {
	in := streamInput(3, 3000)
	for _, budget := range []int{64 << 20, 48 << 10} {
		t.Run(fmt.Sprint("budget=", budget), func(t *testing.T) {
			dir := t.TempDir()
			s := NewSink(dir, Options{RowGroupRows: 64, MaxFileRows: 1100, MaxBufferedBytes: budget, Logger: storetest.Quiet()})
			if err := s.Open(context.Background()); err != nil {
				t.Fatal(err)
			}
			pqWriteAll(t, s, in)
			for tb, evs := range in {
				checkStreamedFiles(t, dir, tb, evs)
			}
		})
	}
}

func checkStreamedFiles(t *testing.T, dir string, tb *schema.Table, evs []schema.Stored) {
	t.Helper()
	parts, err := ListParts(dir, tb.Name, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, p := range parts {
		var want []schema.Stored
		for _, e := range evs {
			if s := e.Hdr().Seq; s >= p.FirstSeq && s <= p.LastSeq {
				want = append(want, e)
			}
		}
		want = sortedByInst(want)
		var got []schema.Stored
		if err := ReadFile(p.Path, func(e schema.Stored) error { got = append(got, schema.Clone(e)); return nil }); err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("%s: %d rows, want %d", p.Path, len(got), len(want))
		}
		total += len(got)
		byInst := map[string][]schema.Stored{}
		for _, e := range got {
			byInst[e.Hdr().InstID] = append(byInst[e.Hdr().InstID], e)
		}
		for i, e := range sortedByInst(got) { // the same rows, each instrument in the whole-file order
			w := want[i]
			if !storetest.EqualRows(byInst[w.Hdr().InstID][0], w) || !storetest.EqualRows(e, w) {
				t.Fatalf("%s: row %d (seq %d) differs from the whole-file writer's", p.Path, i, w.Hdr().Seq)
			}
			byInst[w.Hdr().InstID] = byInst[w.Hdr().InstID][1:]
		}
		checkGroups(t, p.Path, got)
		duckOrder(t, p.Path, want)
	}
	if total != len(evs) {
		t.Fatalf("%s: %d rows in files, want %d", tb.Name, total, len(evs))
	}
}

// checkGroups checks each row group of a file: sorted by (inst_id, ts, seq), one instrument unless packed
// (then none of its instruments appears in another row group).
func checkGroups(t *testing.T, path string, rows []schema.Stored) {
	t.Helper()
	groups, byInst, err := FileStats(path)
	if err != nil || !byInst {
		t.Fatalf("%s: stats %v, by-inst layout %v", path, err, byInst)
	}
	lo := 0
	owner := map[string]int{}
	for _, g := range groups {
		rg := rows[lo : lo+int(g.Rows)]
		lo += int(g.Rows)
		if !slices.IsSortedFunc(rg, func(a, b schema.Stored) int {
			x, y := a.Hdr(), b.Hdr()
			return cmp.Or(strings.Compare(x.InstID, y.InstID), cmp.Compare(x.Ts, y.Ts), cmp.Compare(x.Seq, y.Seq))
		}) {
			t.Fatalf("%s: row group %d not sorted by (inst_id, ts, seq)", path, g.Index)
		}
		if g.MinInst != g.MaxInst {
			for _, e := range rg {
				if o, seen := owner[e.Hdr().InstID]; seen && o != g.Index {
					t.Fatalf("%s: packed instrument %s spans row groups %d and %d", path, e.Hdr().InstID, o, g.Index)
				}
				owner[e.Hdr().InstID] = g.Index
			}
		}
	}
}

// duckOrder checks with DuckDB (when installed) that the file read by another engine and ordered by
// (inst_id, ts, seq) gives the whole-file writer's seq order.
func duckOrder(t *testing.T, path string, want []schema.Stored) {
	t.Helper()
	script := testenv.DuckDBScript(t)
	q := fmt.Sprintf(`SELECT string_agg(seq::VARCHAR, ',' ORDER BY inst_id, ts, seq) AS r FROM read_parquet('%s')`, path)
	out, err := exec.Command("node", script, q).CombinedOutput()
	if err != nil {
		t.Fatalf("duckdb: %v\n%s", err, out)
	}
	var seqs []string
	for _, e := range want {
		seqs = append(seqs, fmt.Sprint(e.Hdr().Seq))
	}
	if w := fmt.Sprintf(`[{"r":"%s"}]`, strings.Join(seqs, ",")); strings.TrimSpace(string(out)) != w {
		t.Fatalf("duckdb order of %s differs:\n%.300s\nwant\n%.300s", path, out, w)
	}
}

// BenchmarkSinkWrite is the sink's cost per row (allocations included) for realistic tickers over 20
// instruments, and for raw frames: Write in batches of 1000, row groups and files written as they fill.
func BenchmarkSinkWrite(b *testing.B) {
	g := storetest.NewTickerGen(1, 20)
	tickers := make([]schema.Stored, 1000)
	for i := range tickers {
		tickers[i] = schema.Clone(g.Next())
	}
	raws := make([]schema.Stored, 1000)
	for i := range raws {
		tk := tickers[i].(*schema.Ticker)
		raws[i] = &schema.Raw{Header: tk.Header, Endpoint: "public",
			Frame: fmt.Sprintf(`{"arg":{"channel":"tickers","instId":"%s"},"data":[{"instId":"%s","last":"%g","lastSz":"%g","ts":"%d"}]}`,
				tk.InstID, tk.InstID, tk.Last, tk.LastSz, tk.Ts)}
	}
	for _, c := range []struct {
		name string
		evs  []schema.Stored
	}{{"tickers", tickers}, {"raw", raws}} {
		b.Run(c.name, func(b *testing.B) {
			s := NewSink(b.TempDir(), Options{Logger: storetest.Quiet()})
			ctx := context.Background()
			if err := s.Open(ctx); err != nil {
				b.Fatal(err)
			}
			tb := schema.TableOf(c.evs[0].Kind())
			seq := uint64(1)
			span := c.evs[len(c.evs)-1].Hdr().Ts - c.evs[0].Hdr().Ts + 1 // each round goes on in time
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime()
			for done := 0; done < b.N; {
				n := min(len(c.evs), b.N-done)
				for _, e := range c.evs[:n] {
					e.Hdr().Seq = seq
					seq++
					if done > 0 {
						e.Hdr().Ts += span
					}
				}
				if err := s.Write(ctx, store.Batch{Table: tb, Events: c.evs[:n]}); err != nil {
					b.Fatal(err)
				}
				done += n
			}
			if err := s.Flush(ctx); err != nil {
				b.Fatal(err)
			}
			// CPU time, not wall time: fsyncs on a shared disk make the wall time noise.
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/row")
		})
	}
}

// cpuTime returns the process's user + system CPU time in ns.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// TestOwnRowGroupFromTwoSlices: an instrument with at least two slices' worth of rows in a file gets row groups
// of its own, with slices, even below half a row group (replay streams it slice by slice); only smaller
// instruments share a packed row group (read whole).
func TestOwnRowGroupFromTwoSlices(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 9))
	rows := map[string]int{"BTC-USDT": 2*SliceRows + 100, "ZZ-A": 50, "ZZ-B": 60}
	var evs []schema.Stored
	seq := uint64(1)
	for inst, n := range rows {
		for i := range n {
			e := storetest.RandEvent(r, schema.TickerTable, seq, storetest.Day0+int64(i))
			e.Hdr().InstID = inst
			evs = append(evs, e)
			seq++
		}
	}
	path := writeOneFile(t, schema.TickerTable, evs)
	groups, byInst, _, err := FileFooter(path)
	if err != nil || !byInst {
		t.Fatalf("footer: by-inst %v, %v", byInst, err)
	}
	var own, packed int
	for _, g := range groups {
		switch {
		case g.MinInst == "BTC-USDT" && g.MaxInst == "BTC-USDT":
			own++
			if g.Slices == nil || g.Rows != int64(rows["BTC-USDT"]) {
				t.Errorf("BTC-USDT row group: %d rows, slices %v", g.Rows, g.Slices)
			}
		case g.MinInst == "ZZ-A" && g.MaxInst == "ZZ-B":
			packed++
		default:
			t.Errorf("unexpected row group %s..%s (%d rows)", g.MinInst, g.MaxInst, g.Rows)
		}
	}
	if own != 1 || packed != 1 {
		t.Errorf("%d own and %d packed row groups, want 1 and 1", own, packed)
	}
}

// TestFooterKeptForAnnouncedOpens: a footer read by FileFooter stays parsed for the opens announced with
// Keep, also after Forget (which Release does not allow), and is dropped after the last of them.
func TestFooterKeptForAnnouncedOpens(t *testing.T) {
	r := rand.New(rand.NewPCG(12, 13))
	var evs []schema.Stored
	for i := range 50 {
		evs = append(evs, storetest.RandEvent(r, schema.TickerTable, uint64(i+1), storetest.Day0+int64(i)))
	}
	path := writeOneFile(t, schema.TickerTable, evs)
	read := func(ft *Footer) {
		t.Helper()
		rd, err := OpenRowsOf(ft, nil, 10)
		if err != nil {
			t.Fatal(err)
		}
		defer rd.Close()
		if n, err := rd.Read(1000, func(schema.Stored) error { return nil }); err != nil || n != len(evs) {
			t.Fatalf("read %d rows, %v", n, err)
		}
	}
	_, _, ft, err := FileFooter(path)
	if err != nil || ft.Size() == 0 {
		t.Fatalf("footer size %d, %v", ft.Size(), err)
	}
	ft.Keep(3)
	ft.Forget()
	ft.Keep(2)
	read(ft)
	if ft.Size() == 0 {
		t.Fatal("footer dropped before the last announced open")
	}
	read(ft)
	if ft.Size() != 0 {
		t.Fatal("footer still held after the last announced open")
	}
	read(ft) // parsed again
	_, _, ft, _ = FileFooter(path)
	ft.Release()
	if ft.Size() != 0 {
		t.Fatal("footer held after Release")
	}
	ft.Keep(1)
	read(ft)
}

// writeOneFile stores evs of table tb through a fresh Parquet sink with default options and returns the
// one file it wrote.
func writeOneFile(t *testing.T, tb *schema.Table, evs []schema.Stored) string {
	t.Helper()
	dir := t.TempDir()
	s := NewSink(dir, Options{Logger: storetest.Quiet()})
	if err := s.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	pqWriteAll(t, s, map[*schema.Table][]schema.Stored{tb: evs})
	parts, err := ListParts(dir, tb.Name, time.Time{}, time.Time{})
	if err != nil || len(parts) != 1 {
		t.Fatalf("parts %v, %v", parts, err)
	}
	return parts[0].Path
}
