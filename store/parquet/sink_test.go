package parquet

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/okxtape/okxtape/internal/storetest"
	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/store"
)

// pqWriteAll feeds events to a sink table by table in batches of 100 and flushes.
func pqWriteAll(t *testing.T, s *Sink, evs map[*schema.Table][]schema.Stored) {
	t.Helper()
	ctx := context.Background()
	for tb, list := range evs {
		for lo := 0; lo < len(list); lo += 100 {
			if err := s.Write(ctx, store.Batch{Table: tb, Events: list[lo:min(lo+100, len(list))]}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestParquetRoundTripAllTables(t *testing.T) {
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(1, 2))
	s := NewSink(dir, Options{RowGroupRows: 64})
	if err := s.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	in := map[*schema.Table][]schema.Stored{}
	seq := uint64(100)
	for _, tb := range schema.Tables() {
		for i := 0; i < 300; i++ {
			seq++
			in[tb] = append(in[tb], storetest.RandEvent(r, tb, seq, storetest.Day0+int64(r.IntN(3600_000))))
		}
	}
	pqWriteAll(t, s, in)
	got := pqReadAll(t, dir)
	for tb, want := range in {
		g := storetest.BySeq(got[tb.Name])
		if len(g) != len(want) {
			t.Fatalf("%s: read %d rows, wrote %d", tb.Name, len(g), len(want))
		}
		for i := range want {
			if !storetest.EqualRows(g[i], want[i]) {
				t.Fatalf("%s row %d differs:\n got %+v\nwant %+v", tb.Name, i, g[i], want[i])
			}
		}
	}
	st := s.Stats()
	if st.Files != uint64(len(in)) || st.Rows["tickers"] != 300 {
		t.Fatalf("stats %+v", st)
	}
	pqCheckFilesSorted(t, dir)
}

// pqCheckFilesSorted checks every part file: rows sorted by (inst_id, ts, seq), seq range as named, no
// temporary files left.
func pqCheckFilesSorted(t *testing.T, dir string) {
	t.Helper()
	n := 0
	err := filepath.Walk(dir, func(path string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		if strings.HasSuffix(path, ".tmp") {
			t.Errorf("temporary file left: %s", path)
		}
		pp, err := ParsePartPath(path)
		if err != nil {
			t.Errorf("unexpected file %s", path)
			return nil
		}
		n++
		var prev *schema.Header
		lo, hi := ^uint64(0), uint64(0)
		err = ReadFile(path, func(e schema.Stored) error {
			h := *e.Hdr()
			lo, hi = min(lo, h.Seq), max(hi, h.Seq)
			if prev != nil && (prev.InstID > h.InstID || prev.InstID == h.InstID && (prev.Ts > h.Ts ||
				prev.Ts == h.Ts && prev.Seq >= h.Seq)) {
				t.Errorf("%s: not sorted: %v then %v", path, *prev, h)
			}
			if day := time.UnixMilli(h.Ts).UTC().Format("2006-01-02"); day != pp.Date {
				t.Errorf("%s: row of day %s", path, day)
			}
			prev = &h
			return nil
		})
		if err != nil {
			t.Error(err)
		}
		if lo != pp.FirstSeq || hi != pp.LastSeq {
			t.Errorf("%s: rows span seq %d..%d", path, lo, hi)
		}
		return nil
	})
	if err != nil || n == 0 {
		t.Fatalf("walk: %v, %d files", err, n)
	}
}

func TestParquetFileLayoutAndEncodings(t *testing.T) {
	dir := t.TempDir()
	s := NewSink(dir, Options{})
	if err := s.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	g := storetest.NewTickerGen(3, 20)
	var evs []schema.Stored
	for i := 0; i < 5000; i++ {
		evs = append(evs, schema.Clone(g.Next()))
	}
	pqWriteAll(t, s, map[*schema.Table][]schema.Stored{schema.TickerTable: evs})
	parts, err := ListParts(dir, "tickers", time.Time{}, time.Time{})
	if err != nil || len(parts) != 1 {
		t.Fatalf("parts %v %v", parts, err)
	}
	pf, err := file.OpenParquetFile(parts[0].Path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	md := pf.MetaData()
	if md.NumRowGroups() != 1 {
		t.Errorf("%d row groups for 5000 rows", md.NumRowGroups())
	}
	sc := md.Schema
	rg := md.RowGroup(0)
	for i := 0; i < sc.NumColumns(); i++ {
		col := sc.Column(i)
		cc, err := rg.ColumnChunk(i)
		if err != nil {
			t.Fatal(err)
		}
		if cc.Compression().String() != "ZSTD" {
			t.Errorf("%s: compression %s", col.Path(), cc.Compression())
		}
		encs := cc.Encodings()
		dict := slices.Contains(encs, parquet.Encodings.RLEDict) || slices.Contains(encs, parquet.Encodings.PlainDict)
		c := schema.TickerTable.Columns[schema.TickerTable.Index(col.Path())]
		if dict != c.Dict {
			t.Errorf("%s: dictionary=%v, want %v (%v)", col.Path(), dict, c.Dict, encs)
		}
		switch c.Type {
		case schema.Int64, schema.TimeMs, schema.TimeNs:
			if !slices.Contains(encs, parquet.Encodings.DeltaBinaryPacked) {
				t.Errorf("%s: encodings %v, want DELTA_BINARY_PACKED", col.Path(), encs)
			}
		}
		if c.Type == schema.TimeMs || c.Type == schema.TimeNs {
			lt, ok := col.LogicalType().(interface{ IsAdjustedToUTC() bool })
			if !ok || !lt.IsAdjustedToUTC() {
				t.Errorf("%s: logical type %v, want TIMESTAMP(UTC)", col.Path(), col.LogicalType())
			}
		}
		if st, err := cc.Statistics(); err != nil || st == nil || !st.HasMinMax() {
			t.Errorf("%s: no statistics", col.Path())
		}
	}
	if v := md.KeyValueMetadata().FindValue(metaDataset); v == nil || *v != "tickers" {
		t.Errorf("dataset metadata %v", v)
	}
}

func TestParquetDatesRotationAndCaps(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 1, 1, 10, 59, 0, 0, time.UTC)
	s := NewSink(dir, Options{MaxFileRows: 250, Now: func() time.Time { return now }})
	ctx := context.Background()
	if err := s.Open(ctx); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(5, 6))
	var evs []schema.Stored
	for i := 0; i < 600; i++ { // crosses midnight after 400 events; row cap at 250
		evs = append(evs, storetest.RandEvent(r, schema.TradeTable, uint64(1000+i), storetest.Day0-400_000+int64(i)*1000))
	}
	if err := s.Write(ctx, store.Batch{Table: schema.TradeTable, Events: evs[:500]}); err != nil {
		t.Fatal(err)
	}
	// 250 (day -1), 150 (day -1, closed by the date change): two files so far, 100 open
	if st := s.Stats(); st.Files != 2 {
		t.Fatalf("files %d before rotation", st.Files)
	}
	if seq, ok := s.Pending(); !ok || seq != 1400 {
		t.Fatalf("pending %d %v", seq, ok)
	}
	now = now.Add(2 * time.Minute) // next hour: housekeeping closes the open file
	if err := s.Housekeep(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Pending(); ok || s.Stats().Files != 3 {
		t.Fatalf("rotation did not close the file: %+v", s.Stats())
	}
	if err := s.Write(ctx, store.Batch{Table: schema.TradeTable, Events: evs[500:]}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"2025-12-31", "2026-01-01"} {
		if _, err := os.Stat(filepath.Join(dir, "trades", "date="+d)); err != nil {
			t.Error(err)
		}
	}
	got := storetest.BySeq(pqReadAll(t, dir)["trades"])
	if len(got) != 600 {
		t.Fatalf("read %d", len(got))
	}
	pqCheckFilesSorted(t, dir)
	// ReadDataset filters on time.
	n := 0
	err := ReadDataset(dir, "trades", time.UnixMilli(storetest.Day0), time.Time{}, func(e schema.Stored) error { n++; return nil })
	if err != nil || n != 200 {
		t.Fatalf("from midnight: %d rows, %v", n, err)
	}
}

func TestParquetIdempotentRedelivery(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	r := rand.New(rand.NewPCG(7, 8))
	var evs []schema.Stored
	for i := 0; i < 400; i++ {
		evs = append(evs, storetest.RandEvent(r, schema.QuoteTable, uint64(10+i), storetest.Day0+int64(i)))
	}
	s := NewSink(dir, Options{MaxFileRows: 100})
	if err := s.Open(ctx); err != nil {
		t.Fatal(err)
	}
	// A retried batch (same events twice) and an overlapping one are not duplicated.
	for _, b := range [][]schema.Stored{evs[:150], evs[:150], evs[100:250]} {
		if err := s.Write(ctx, store.Batch{Table: schema.QuoteTable, Events: b}); err != nil {
			t.Fatal(err)
		}
	}
	// Crash: the open file (rows 200..249) is lost; a stale temporary file is left.
	stale := filepath.Join(dir, "quotes", "date=2026-01-01", "part-000000-1-2.parquet.tmp")
	if err := os.WriteFile(stale, []byte("junk"), 0o644); err != nil {
		t.Fatal(err)
	}
	s2 := NewSink(dir, Options{MaxFileRows: 100})
	if err := s2.Open(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("stale temporary file not removed")
	}
	// The spool redelivers from before the crash.
	pqWriteAll(t, s2, map[*schema.Table][]schema.Stored{schema.QuoteTable: evs[50:]})
	got := storetest.BySeq(pqReadAll(t, dir)["quotes"])
	if len(got) != len(evs) {
		t.Fatalf("read %d rows, want %d", len(got), len(evs))
	}
	for i := range evs {
		if !storetest.EqualRows(got[i], evs[i]) {
			t.Fatalf("row %d differs", i)
		}
	}
	if dup, _ := s2.Skipped(); dup != 150 {
		t.Errorf("skipped %d duplicates, want 150", dup)
	}
}

// TestParquetWriteErrorRedelivers: a file that cannot be completed (its final name is blocked) is dropped
// with its rows, leaves no temporary file, and asks for redelivery (store.ErrRedeliver) with Pending at its
// first seq; the redelivered rows are then written in full.
func TestParquetWriteErrorRedelivers(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := NewSink(dir, Options{Now: func() time.Time { return now }, RowGroupRows: 4})
	if err := s.Open(ctx); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(9, 9))
	var evs []schema.Stored
	for i := 0; i < 10; i++ {
		evs = append(evs, storetest.RandEvent(r, schema.GapTable, uint64(1+i), storetest.Day0+int64(i)))
	}
	if err := s.Write(ctx, store.Batch{Table: schema.GapTable, Events: evs}); err != nil {
		t.Fatal(err)
	}
	// A directory in the way of the final name makes the rename fail.
	final := PartPath(dir, "gaps", time.UnixMilli(storetest.Day0), now, 1, 10)
	if err := os.MkdirAll(filepath.Join(final, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); !errors.Is(err, store.ErrRedeliver) {
		t.Fatalf("flush with the final name blocked: %v", err)
	}
	if tmps, _ := Glob(dir, "gaps", "date=*", "*.tmp"); len(tmps) > 0 {
		t.Fatalf("temporary files left after a failed write: %v", tmps)
	}
	if seq, ok := s.Pending(); !ok || seq != 1 {
		t.Fatalf("pending %d %v after a dropped file, want 1", seq, ok)
	}
	os.RemoveAll(final)
	if err := s.Write(ctx, store.Batch{Table: schema.GapTable, Events: evs}); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(pqReadAll(t, dir)["gaps"]); n != 10 {
		t.Fatalf("read %d", n)
	}
}

func TestReadParquetIncompatible(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tickers", "date=2026-01-01", "part-000000-1-1.parquet")
	os.MkdirAll(filepath.Dir(path), 0o755)
	sc := arrow.NewSchema([]arrow.Field{{Name: "seq", Type: arrow.PrimitiveTypes.Float64}}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	b.Field(0).(*array.Float64Builder).Append(1)
	rec := b.NewRecordBatch()
	f, _ := os.Create(path)
	w, err := pqarrow.NewFileWriter(sc, f, nil, pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	w.Close()
	err = ReadFile(path, func(schema.Stored) error { return nil })
	if !errors.Is(err, ErrIncompatibleFile) {
		t.Fatalf("err = %v", err)
	}
	if err := ReadFile(filepath.Join(dir, "nope.parquet"), nil); err == nil {
		t.Fatal("missing file read")
	}
}

// TestParquetBufferBudget checks the global buffer cap: the largest instrument buffer is written early as a
// row group, the rows waiting never exceed MaxBufferedBytes by more than one row (the sink's running count,
// checked against the buffers themselves), and every row reads back unchanged.
func TestParquetBufferBudget(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	const budget, maxRow = 256 << 10, 48<<10 + 256
	s := NewSink(dir, Options{MaxBufferedBytes: budget, Logger: storetest.Quiet()})
	if err := s.Open(ctx); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(11, 12))
	want := map[string][]schema.Stored{}
	seq := uint64(1)
	for i := 0; i < 60; i++ {
		var raws, quotes []schema.Stored
		for j := 0; j < 5; j++ {
			n := 1 + r.IntN(48<<10) // rows of up to 48 KiB: a few fill the budget
			frame := make([]byte, n)
			for k := range frame {
				frame[k] = byte('a' + r.IntN(26))
			}
			raws = append(raws, &schema.Raw{Header: schema.Header{Seq: seq, Ts: storetest.Day0 + int64(seq), Channel: "trades",
				InstID: "BTC-USDT"}, Endpoint: "public", Frame: string(frame)})
			seq++
			quotes = append(quotes, storetest.RandEvent(r, schema.QuoteTable, seq, storetest.Day0+int64(seq)))
			seq++
		}
		for _, b := range []store.Batch{{Table: schema.RawTable, Events: raws}, {Table: schema.QuoteTable, Events: quotes}} {
			if err := s.Write(ctx, b); err != nil {
				t.Fatal(err)
			}
			want[b.Table.Name] = append(want[b.Table.Name], b.Events...)
		}
		if s.buffered > budget+maxRow {
			t.Fatalf("buffered %d bytes, budget %d", s.buffered, budget)
		}
		if got := s.bufferedNow(); got != s.buffered {
			t.Fatalf("buffered %d bytes by the running count, %d in the buffers", s.buffered, got)
		}
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if groups := rowGroupsOf(t, dir, "raw"); groups < 5 {
		t.Errorf("%d raw row groups written, want the budget to write row groups early", groups)
	}
	got := pqReadAll(t, dir)
	for name, evs := range want {
		g := storetest.BySeq(got[name])
		if len(g) != len(evs) {
			t.Fatalf("%s: read %d rows, want %d", name, len(g), len(evs))
		}
		for i := range evs {
			if !storetest.EqualRows(g[i], evs[i]) {
				t.Fatalf("%s row %d differs", name, i)
			}
		}
	}
}

// rowGroupsOf counts the row groups of a dataset's files.
func rowGroupsOf(t *testing.T, dir, dataset string) int {
	t.Helper()
	parts, err := ListParts(dir, dataset, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, p := range parts {
		groups, _, err := FileStats(p.Path)
		if err != nil {
			t.Fatal(err)
		}
		n += len(groups)
	}
	return n
}
