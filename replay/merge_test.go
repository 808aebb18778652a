package replay

import (
	"context"
	"reflect"
	"testing"
	"time"

	pqparquet "github.com/apache/arrow-go/v18/parquet"

	"github.com/okxtape/okxtape/internal/storetest"
	"github.com/okxtape/okxtape/store/parquet"

	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/store"
)

func TestOrderAcrossDatasetsAndInstrumentsWithTies(t *testing.T) {
	dir := t.TempDir()
	evs := []schema.Stored{
		ticker(10, day0+5, "BTC-USDT", 1),
		trade(11, day0+5, "BTC-USDT", 1, 1), // tie on ts: seq decides
		ticker(12, day0+5, "ETH-USDT", 2),
		trade(13, day0+3, "ETH-USDT", 2, 2), // older ts in another stream: goes first
		&schema.Gap{Header: schema.Header{Seq: 14, Ts: day0 + 4}, FromMs: day0 + 4, ToMs: day0 + 6,
			Reason: schema.GapDisconnect, Conn: "public#0"},
		ticker(15, day0+5, "BTC-USDT", 3),
		trade(9, day0+5, "SOL-USDT", 3, 3),
	}
	writeStore(t, dir, parquet.Options{}, evs)
	out := collect(t, NewParquetSource(dir), store.Query{}, ReplayTables())
	var seqs []uint64
	for _, g := range out {
		seqs = append(seqs, g.Seq)
	}
	want := []uint64{13, 14, 9, 10, 11, 12, 15}
	if !reflect.DeepEqual(seqs, want) {
		t.Fatalf("order %v, want %v", seqs, want)
	}
	if out[1].Kind != schema.KindGap {
		t.Fatalf("gap not in its place: %+v", out[1])
	}
}

func TestStreamTsBackwardsKeepsArrivalOrder(t *testing.T) {
	dir := t.TempDir()
	evs := []schema.Stored{
		ticker(1, day0+100, "BTC-USDT", 1),
		ticker(2, day0+90, "BTC-USDT", 2), // OKX ts went backwards: still after seq 1
		ticker(3, day0+95, "BTC-USDT", 3),
		ticker(4, day0+92, "ETH-USDT", 4),
		ticker(5, day0+101, "BTC-USDT", 5),
	}
	writeStore(t, dir, parquet.Options{}, evs)
	out := collect(t, NewParquetSource(dir), store.Query{}, ReplayTables())
	var seqs []uint64
	for _, g := range out {
		seqs = append(seqs, g.Seq)
	}
	if want := []uint64{4, 1, 2, 3, 5}; !reflect.DeepEqual(seqs, want) {
		t.Fatalf("order %v, want %v", seqs, want)
	}
}

func TestManyOverlappingFilesMatchReferenceAndRepeat(t *testing.T) {
	dir := t.TempDir()
	insts := []string{"BTC-USDT", "ETH-USDT", "SOL-USDT"}
	evs := randomEvents(1, 2500, insts)
	// Small files: many parts per dataset whose time ranges overlap.
	writeStore(t, dir, parquet.Options{MaxFileRows: 200, RowGroupRows: 64}, evs)
	parts, _ := parquet.ListParts(dir, "tickers", time.Time{}, time.Time{})
	if len(parts) < 5 {
		t.Fatalf("want many part files, got %d", len(parts))
	}
	overlaps := 0
	for i := 1; i < len(parts); i++ {
		_, hi, err1 := fileTsBounds(parts[i-1].Path)
		lo, _, err2 := fileTsBounds(parts[i].Path)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if lo <= hi {
			overlaps++
		}
	}
	if overlaps == 0 {
		t.Fatal("test data has no files overlapping in time")
	}
	src := NewParquetSource(dir)
	a := collect(t, src, store.Query{}, ReplayTables())
	b := collect(t, src, store.Query{}, ReplayTables())
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two replays of the same range differ")
	}
	want := expectOrder(evs)
	if len(a) != len(want) {
		t.Fatalf("got %d events, want %d", len(a), len(want))
	}
	for i := range want {
		if a[i] != want[i] {
			t.Fatalf("event %d: got %+v want %+v", i, a[i], want[i])
		}
	}
}

func TestSelection(t *testing.T) {
	dir := t.TempDir()
	insts := []string{"BTC-USDT", "ETH-USDT", "SOL-USDT"}
	evs := randomEvents(2, 3000, insts)
	evs = append(evs, &schema.Gap{Header: schema.Header{Seq: 99, Ts: day0 + 3000}, FromMs: day0 + 3000,
		ToMs: day0 + 4000, Reason: schema.GapDisconnect, Conn: "public#0"})
	writeStore(t, dir, parquet.Options{MaxFileRows: 500}, evs)
	q := store.Query{From: time.UnixMilli(day0 + 1000), To: time.UnixMilli(day0 + 6000),
		Insts: []string{"ETH-USDT"}, Channels: []string{"trades"}}
	var sel []schema.Stored
	for _, e := range evs {
		h := e.Hdr()
		if h.Ts >= day0+1000 && h.Ts < day0+6000 && (h.InstID == "ETH-USDT" && h.Channel == "trades" || e.Kind() == schema.KindGap) {
			sel = append(sel, e)
		}
	}
	out := collect(t, NewParquetSource(dir), q, ReplayTables())
	if want := expectOrder(sel); !reflect.DeepEqual(out, want) {
		t.Fatalf("selection: got %d events, want %d", len(out), len(want))
	}
	if len(out) < 100 {
		t.Fatalf("too few selected: %d", len(out))
	}
	// A range outside the data selects nothing.
	q = store.Query{From: time.UnixMilli(day0 + 86_400_000*3)}
	if out := collect(t, NewParquetSource(dir), q, ReplayTables()); len(out) != 0 {
		t.Fatalf("got %d events outside the data", len(out))
	}
}

// fileTsBounds returns the ts bounds of a part file from its row groups' statistics.
func fileTsBounds(path string) (lo, hi int64, err error) {
	groups, _, err := parquet.FileStats(path)
	lo, hi = maxTs, minTs
	for _, g := range groups {
		lo, hi = min(lo, g.MinTs), max(hi, g.MaxTs)
	}
	return lo, hi, err
}

// TestRowGroupPartsKeepTheOrderRule replays files cut into many by-instrument row groups (each read as its
// own part, in ts order) whose streams' ts jitter backwards, against the reference order, and checks that the
// row groups were read as separate parts and that selections prune whole row groups.
func TestRowGroupPartsKeepTheOrderRule(t *testing.T) {
	dir := t.TempDir()
	insts := []string{"BTC-USDT", "ETH-USDT", "SOL-USDT", "XRP-USDT", "ADA-USDT"}
	evs := randomEvents(3, 6000, insts)
	// One small instrument: packed whole into a shared row group.
	for i := 0; i < 10; i++ {
		evs = append(evs, ticker(uint64(100000+i), day0+int64(i)*1000, "AAA-USDT", 1))
	}
	writeStore(t, dir, parquet.Options{RowGroupRows: 100}, evs)
	t.Run("row groups", func(t *testing.T) { checkRowGroupParts(t, dir, evs, 4) })
	defer func(n int) { sliceRows = n }(sliceRows)
	sliceRows = 16 // row groups of 100 rows stream as slices of about 16
	t.Run("slices", func(t *testing.T) { checkRowGroupParts(t, dir, evs, 16) })
}

func checkRowGroupParts(t *testing.T, dir string, evs []schema.Stored, perFile int) {
	src := NewParquetSource(dir)
	parts, err := src.Parts(context.Background(), schema.TickerTable, store.Query{})
	if err != nil {
		t.Fatal(err)
	}
	files, _ := parquet.ListParts(dir, "tickers", time.Time{}, time.Time{})
	if len(parts) < perFile*len(files) {
		t.Fatalf("%d parts from %d files: row groups were not read as parts", len(parts), len(files))
	}
	got := collect(t, src, store.Query{}, ReplayTables())
	if want := expectOrder(evs); !reflect.DeepEqual(got, want) {
		t.Fatalf("order differs from the reference (%d vs %d events)", len(got), len(want))
	}
	q := store.Query{Insts: []string{"ETH-USDT"}}
	sel, err := src.Parts(context.Background(), schema.TickerTable, q)
	if err != nil {
		t.Fatal(err)
	}
	if len(sel) == 0 || len(sel) > len(parts)/3 {
		t.Fatalf("--inst ETH-USDT kept %d of %d row groups", len(sel), len(parts))
	}
	var one []schema.Stored
	for _, e := range evs {
		if e.Hdr().InstID == "ETH-USDT" {
			one = append(one, e)
		}
	}
	if got := collect(t, src, q, ReplayTables()); !reflect.DeepEqual(got, expectOrder(one)) {
		t.Fatal("--inst replay differs from the reference")
	}
	// A time range that starts and ends inside row groups: the slices before it are never read.
	rq := store.Query{From: time.UnixMilli(day0 + 5000), To: time.UnixMilli(day0 + 11000)}
	var in []schema.Stored
	for _, e := range evs {
		if ts := e.Hdr().Ts; ts >= day0+5000 && ts < day0+11000 {
			in = append(in, e)
		}
	}
	if got, want := collect(t, src, rq, ReplayTables()), expectOrder(in); !reflect.DeepEqual(got, want) {
		t.Fatalf("time-range replay differs from the reference (%d vs %d events)", len(got), len(want))
	}
	tps, err := ListParts(context.Background(), src, rq, []*schema.Table{schema.TickerTable})
	if err != nil {
		t.Fatal(err)
	}
	scanned := 0
	if err := tps[0].Scan(context.Background(), rq, func(schema.Stored) error { scanned++; return nil }, nil); err != nil {
		t.Fatal(err)
	}
	wantTickers := 0
	for _, e := range in {
		if e.Kind() == schema.KindTicker {
			wantTickers++
		}
	}
	if scanned != wantTickers {
		t.Fatalf("Scan of a time range: %d tickers, want %d", scanned, wantTickers)
	}
}

// TestLegacyFilesStillReplay rewrites every part file the way older versions wrote them (row groups cut at a
// fixed row count, no row-group layout metadata) and checks that they replay in the reference order: such
// files are read one part per file.
func TestLegacyFilesStillReplay(t *testing.T) {
	dir := t.TempDir()
	evs := randomEvents(5, 3000, []string{"BTC-USDT", "ETH-USDT", "SOL-USDT"})
	writeStore(t, dir, parquet.Options{}, evs)
	for _, ds := range []string{"tickers", "trades"} {
		files, _ := parquet.ListParts(dir, ds, time.Time{}, time.Time{})
		for _, f := range files {
			storetest.RewriteWithPqarrow(t, f.Path, pqparquet.NewWriterProperties(pqparquet.WithStats(true)))
		}
	}
	src := NewParquetSource(dir)
	parts, err := src.Parts(context.Background(), schema.TickerTable, store.Query{})
	if err != nil {
		t.Fatal(err)
	}
	files, _ := parquet.ListParts(dir, "tickers", time.Time{}, time.Time{})
	if len(parts) != len(files) {
		t.Fatalf("%d parts for %d legacy files", len(parts), len(files))
	}
	if got := collect(t, src, store.Query{}, ReplayTables()); !reflect.DeepEqual(got, expectOrder(evs)) {
		t.Fatal("legacy files replay in another order than the reference")
	}
}

// TestWriterSlicesReplayInOrder: row groups big enough to be sliced carry the writer's slices in the file
// metadata; replay reads those slices as parts (no ts/seq pass) and keeps the reference order, also for a
// time range that starts and ends inside row groups.
func TestWriterSlicesReplayInOrder(t *testing.T) {
	dir := t.TempDir()
	evs := randomEvents(9, 14000, []string{"BTC-USDT", "ETH-USDT"}) // about 4.7k tickers per instrument
	writeStore(t, dir, parquet.Options{}, evs)
	files, _ := parquet.ListParts(dir, "tickers", time.Time{}, time.Time{})
	sliced := 0
	for _, f := range files {
		groups, _, err := parquet.FileStats(f.Path)
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range groups {
			if len(g.Slices) >= 2 {
				sliced++
			}
		}
	}
	if sliced == 0 {
		t.Fatal("no row group carries the writer's slices")
	}
	src := NewParquetSource(dir)
	if got := collect(t, src, store.Query{}, ReplayTables()); !reflect.DeepEqual(got, expectOrder(evs)) {
		t.Fatal("replay of writer-sliced row groups differs from the reference")
	}
	rq := store.Query{From: time.UnixMilli(day0 + 7000), To: time.UnixMilli(day0 + 20000)}
	var in []schema.Stored
	for _, e := range evs {
		if ts := e.Hdr().Ts; ts >= day0+7000 && ts < day0+20000 {
			in = append(in, e)
		}
	}
	if got := collect(t, src, rq, ReplayTables()); !reflect.DeepEqual(got, expectOrder(in)) {
		t.Fatal("time-range replay of writer-sliced row groups differs from the reference")
	}
}
