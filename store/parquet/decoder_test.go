package parquet

import (
	"context"
	"fmt"
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
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/okxtape/okxtape/internal/storetest"
	"github.com/okxtape/okxtape/schema"
)

// arrowRows reads every row of a part file through pqarrow record batches and the Arrow row reader replay
// used before the column decoder: the reference the decoder must match.
func arrowRows(t *testing.T, path string) []schema.Stored {
	t.Helper()
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	tab := tableOfFile(path, pf)
	props := pqarrow.ArrowReadProperties{BatchSize: 100}
	var leaves []int
	sch := pf.MetaData().Schema
	for i := 0; i < sch.NumColumns(); i++ {
		root, _, _ := strings.Cut(sch.Column(i).Path(), ".")
		if ci := tab.Index(root); ci >= 0 {
			leaves = append(leaves, i)
			if tab.Columns[ci].Dict && tab.Columns[ci].Type == schema.String {
				props.SetReadDict(i, true)
			}
		}
	}
	fr, err := pqarrow.NewFileReader(pf, props, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	rr, err := fr.GetRecordReader(context.Background(), leaves, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Release()
	rd, err := newArrowRowReader(tab, rr.Schema())
	if err != nil {
		t.Fatal(err)
	}
	var out []schema.Stored
	for rr.Next() {
		rec := rr.RecordBatch()
		rd.bind(rec)
		for row := 0; row < int(rec.NumRows()); row++ {
			rd.row, rd.col = row, 0
			e := tab.New()
			e.ReadRow(rd)
			if rd.err != nil {
				t.Fatal(rd.err)
			}
			out = append(out, e)
		}
	}
	if err := rr.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// decodedRows reads every row of a part file with the column decoder, batch rows at a time.
func decodedRows(path string, batch int) ([]schema.Stored, error) {
	r, err := OpenRows(path, nil, batch)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var out []schema.Stored
	_, err = r.Read(1<<30, func(e schema.Stored) error {
		out = append(out, schema.Clone(e))
		return nil
	})
	return out, err
}

// writeNullable writes evs (of table tab) with pqarrow into a file whose columns are all nullable, lists of
// nullable elements included, with a null in about one value of seven and data pages v2: the shapes
// okxtape does not write but a file from another writer may have; dict: dictionary encoding for every column.
func writeNullable(t *testing.T, path string, tab *schema.Table, evs []schema.Stored, dict bool) {
	t.Helper()
	fields := make([]arrow.Field, len(tab.Columns))
	for i, c := range tab.Columns {
		typ := ArrowType(c.Type)
		if lt, ok := typ.(*arrow.ListType); ok {
			typ = arrow.ListOf(lt.Elem())
		}
		fields[i] = arrow.Field{Name: c.Name, Type: typ, Nullable: true}
	}
	sc := arrow.NewSchema(fields, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer b.Release()
	for row, e := range evs {
		e.WriteRow(&nullableRow{b: b, row: row})
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	props := parquet.NewWriterProperties(parquet.WithDataPageVersion(parquet.DataPageV2), parquet.WithMaxRowGroupLength(70),
		parquet.WithDictionaryDefault(dict))
	w, err := pqarrow.NewFileWriter(sc, f, props, pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// nullableRow is a schema.RowWriter appending one row to a record builder, nulling about one value in seven.
type nullableRow struct {
	b        *array.RecordBuilder
	row, col int
}

func (w *nullableRow) field() (array.Builder, bool) {
	fb := w.b.Field(w.col)
	null := (w.row+3*w.col)%7 == 0
	w.col++
	if null {
		fb.AppendNull()
	}
	return fb, null
}

func (w *nullableRow) Int64(v int64) {
	if fb, null := w.field(); !null {
		switch b := fb.(type) {
		case *array.Int64Builder:
			b.Append(v)
		case *array.TimestampBuilder:
			b.Append(arrow.Timestamp(v))
		}
	}
}

func (w *nullableRow) Float64(v float64) {
	if fb, null := w.field(); !null {
		fb.(*array.Float64Builder).Append(v)
	}
}

func (w *nullableRow) String(v string) {
	if fb, null := w.field(); !null {
		fb.(*array.StringBuilder).Append(v)
	}
}

func (w *nullableRow) Bool(v bool) {
	if fb, null := w.field(); !null {
		fb.(*array.BooleanBuilder).Append(v)
	}
}

func (w *nullableRow) Float64s(v []float64) {
	if fb, null := w.field(); !null {
		lb := fb.(*array.ListBuilder)
		lb.Append(true)
		vb := lb.ValueBuilder().(*array.Float64Builder)
		for i, x := range v {
			if i == 1 {
				vb.AppendNull()
			} else {
				vb.Append(x)
			}
		}
	}
}

func (w *nullableRow) Int64s(v []int64) {
	if fb, null := w.field(); !null {
		lb := fb.(*array.ListBuilder)
		lb.Append(true)
		vb := lb.ValueBuilder().(*array.Int64Builder)
		for i, x := range v {
			if i == 2 {
				vb.AppendNull()
			} else {
				vb.Append(x)
			}
		}
	}
}

// TestDecoderMatchesArrowReader: for every dataset of the registry, the column decoder yields exactly the
// rows pqarrow and the Arrow row reader yield (every column, book levels and other lists included), for the
// files okxtape writes, for the same rows rewritten the way older versions did, without dictionaries, or
// with zstd- or snappy-compressed v2 data pages, with BYTE_STREAM_SPLIT doubles, and for a file of nullable columns with nulls and v2 data pages; in batches of 1, 7 and 1000 rows, with list
// levels decoded a few at a time so rows straddle the decoder's level buffers.
func TestDecoderMatchesArrowReader(t *testing.T) {
	defer func(n int) { levelChunk = n }(levelChunk)
	levelChunk = 5
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(3, 4))
	s := NewSink(dir, Options{RowGroupRows: 64})
	if err := s.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	in := map[*schema.Table][]schema.Stored{}
	for i, tab := range schema.Tables() {
		for k := range 400 {
			in[tab] = append(in[tab], storetest.RandEvent(r, tab, uint64(1000*i+k+1), storetest.Day0+int64(r.IntN(3600_000))))
		}
	}
	pqWriteAll(t, s, in)
	legacy := t.TempDir()
	for tab, evs := range in {
		parts, err := ListParts(dir, tab.Name, time.Time{}, time.Time{})
		if err != nil || len(parts) == 0 {
			t.Fatalf("%s: %d parts, %v", tab.Name, len(parts), err)
		}
		files := map[string]string{}
		for _, p := range parts {
			files["okxtape "+filepath.Base(p.Path)] = p.Path
			old := filepath.Join(legacy, tab.Name, "date=2025-01-01", filepath.Base(p.Path))
			copyFile(t, p.Path, old)
			storetest.RewriteWithPqarrow(t, old, parquet.NewWriterProperties())
			files["legacy "+filepath.Base(p.Path)] = old
			plain := filepath.Join(legacy, "plain", tab.Name, "date=2025-01-01", filepath.Base(p.Path))
			copyFile(t, p.Path, plain)
			storetest.RewriteWithPqarrow(t, plain, parquet.NewWriterProperties(parquet.WithDictionaryDefault(false)))
			files["plain "+filepath.Base(p.Path)] = plain
			v2 := filepath.Join(legacy, "v2", tab.Name, "date=2025-01-01", filepath.Base(p.Path))
			copyFile(t, p.Path, v2)
			storetest.RewriteWithPqarrow(t, v2, parquet.NewWriterProperties(parquet.WithDataPageVersion(parquet.DataPageV2),
				parquet.WithCompression(compress.Codecs.Zstd), parquet.WithDictionaryDefault(false),
				parquet.WithDictionaryFor("channel", true), parquet.WithEncodingFor("seq", parquet.Encodings.DeltaBinaryPacked)))
			files["v2 "+filepath.Base(p.Path)] = v2
			// Snappy: the page decoders read it through arrow-go's page reader.
			snappy := filepath.Join(legacy, "snappy", tab.Name, "date=2025-01-01", filepath.Base(p.Path))
			copyFile(t, p.Path, snappy)
			storetest.RewriteWithPqarrow(t, snappy, parquet.NewWriterProperties(parquet.WithDataPageVersion(parquet.DataPageV2),
				parquet.WithCompression(compress.Codecs.Snappy), parquet.WithDictionaryDefault(false),
				parquet.WithDictionaryFor("channel", true)))
			files["snappy "+filepath.Base(p.Path)] = snappy
			// Every double (lists too) BYTE_STREAM_SPLIT, v1 and v2 pages.
			for _, v := range []parquet.DataPageVersion{parquet.DataPageV1, parquet.DataPageV2} {
				split := filepath.Join(legacy, fmt.Sprintf("split%d", v), tab.Name, "date=2025-01-01", filepath.Base(p.Path))
				copyFile(t, p.Path, split)
				storetest.RewriteWithPqarrow(t, split, parquet.NewWriterProperties(splitDoubles(tab,
					parquet.WithDataPageVersion(v), parquet.WithCompression(compress.Codecs.Zstd),
					parquet.WithDictionaryDefault(false))...))
				files[fmt.Sprintf("split v%d %s", v+1, filepath.Base(p.Path))] = split
			}
		}
		for _, dict := range []bool{true, false} {
			nullable := filepath.Join(t.TempDir(), tab.Name, "date=2025-01-01", "part-000000-1-400.parquet")
			writeNullable(t, nullable, tab, evs, dict)
			files[fmt.Sprintf("nullable (dictionaries %v)", dict)] = nullable
		}
		for name, path := range files {
			want := arrowRows(t, path)
			if len(want) == 0 {
				t.Fatalf("%s %s: no rows", tab.Name, name)
			}
			for _, batch := range []int{1, 7, 1000} {
				got, err := decodedRows(path, batch)
				if err != nil {
					t.Fatalf("%s %s batch %d: %v", tab.Name, name, batch, err)
				}
				if len(got) != len(want) {
					t.Fatalf("%s %s batch %d: %d rows, pqarrow reads %d", tab.Name, name, batch, len(got), len(want))
				}
				for i := range want {
					if !storetest.EqualRows(got[i], want[i]) {
						t.Fatalf("%s %s batch %d row %d:\n got %+v\nwant %+v", tab.Name, name, batch, i, got[i], want[i])
					}
				}
			}
		}
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestFillPlans: the tables replay reads most (and every table whose ReadRow only stores values) are filled
// by a plan, not through ReadRow; a plan copies exactly what ReadRow would (TestDecoderMatchesArrowReader
// reads every table through its plan when it has one).
func TestFillPlans(t *testing.T) {
	var without []string
	for _, tab := range schema.Tables() {
		if buildPlan(tab) == nil {
			without = append(without, tab.Name)
		}
	}
	for _, name := range []string{"tickers", "trades", "books", "quotes"} {
		if slices.Contains(without, name) {
			t.Errorf("%s has no fill plan", name)
		}
	}
	t.Logf("tables read through ReadRow: %v", without)
}

// TestUnpackBits checks the bit unpacking of DELTA_BINARY_PACKED miniblocks against a bit-by-bit reading for
// every width (the random test files only need widths up to about 52) and offset, the end of the data
// included.
func TestUnpackBits(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	data := make([]byte, 24)
	for i := range data {
		data[i] = byte(r.UintN(256))
	}
	for w := 0; w <= 64; w++ {
		for bit := 0; bit+w <= 8*len(data); bit++ {
			var want uint64
			for k := w - 1; k >= 0; k-- {
				b := bit + k
				want = want<<1 | uint64(data[b/8]>>(b%8)&1)
			}
			if got := unpackBits(data, bit, w); got != want {
				t.Fatalf("width %d at bit %d: %x, want %x", w, bit, got, want)
			}
		}
	}
}

// TestListsDecodedFromPages: the book levels of the files okxtape writes, and of the same rows rewritten
// without dictionaries with v1 or v2 data pages, are decoded from their pages (listpages.go) through the
// reused page readers (chunkpages.go), not through arrow-go's column readers (TestDecoderMatchesArrowReader
// checks the rows).
func TestListsDecodedFromPages(t *testing.T) {
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(9, 10))
	s := NewSink(dir, Options{RowGroupRows: 64})
	if err := s.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	var evs []schema.Stored
	for k := range 200 {
		evs = append(evs, storetest.RandEvent(r, schema.BookTable, uint64(k+1), storetest.Day0+int64(r.IntN(3600_000))))
	}
	pqWriteAll(t, s, map[*schema.Table][]schema.Stored{schema.BookTable: evs})
	parts, err := ListParts(dir, "books", time.Time{}, time.Time{})
	if err != nil || len(parts) == 0 {
		t.Fatalf("%d parts, %v", len(parts), err)
	}
	v1 := filepath.Join(t.TempDir(), "books", "date=2025-01-01", filepath.Base(parts[0].Path))
	v2 := filepath.Join(t.TempDir(), "books", "date=2025-01-01", filepath.Base(parts[0].Path))
	copyFile(t, parts[0].Path, v1)
	storetest.RewriteWithPqarrow(t, v1, parquet.NewWriterProperties(parquet.WithDictionaryDefault(false)))
	copyFile(t, parts[0].Path, v2)
	storetest.RewriteWithPqarrow(t, v2, parquet.NewWriterProperties(parquet.WithDictionaryDefault(false),
		parquet.WithDataPageVersion(parquet.DataPageV2)))
	for _, path := range []string{parts[0].Path, v1, v2} {
		rd, err := OpenRows(path, nil, 100)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rd.Read(1, func(schema.Stored) error { return nil }); err != nil {
			t.Fatal(err)
		}
		lists := 0
		for _, c := range rd.rows.cols {
			if c.kind == ckFloatList || c.kind == ckIntList {
				lists++
				if !c.fast || c.cp.arrow != nil {
					t.Errorf("%s: list column %s read through arrow-go (fast %v, arrow-go's page reader %v)", path, c.name, c.fast, c.cp.arrow != nil)
				}
			}
		}
		rd.Close()
		if lists != 6 {
			t.Fatalf("%s: %d list columns", path, lists)
		}
	}
}

// TestHybridUnpack checks the bit-packed values of the RLE / bit-packed hybrid decoder (dictionary indices,
// levels) against a bit-by-bit reading for every width up to 32 and every position, the end of the run
// included.
func TestHybridUnpack(t *testing.T) {
	r := rand.New(rand.NewPCG(14, 15))
	data := make([]byte, 40)
	for i := range data {
		data[i] = byte(r.UintN(256))
	}
	for bw := 0; bw <= 32; bw++ {
		h := hybrid{bw: bw, packed: data}
		for i := 0; bw == 0 && i < 8 || bw > 0 && (i+1)*bw <= 8*len(data); i++ {
			want := 0
			for k := bw - 1; k >= 0; k-- {
				b := i*bw + k
				want = want<<1 | int(data[b/8]>>(b%8)&1)
			}
			if got := h.unpack(i); got != want {
				t.Fatalf("width %d value %d: %x, want %x", bw, i, got, want)
			}
		}
	}
}

// splitDoubles adds BYTE_STREAM_SPLIT for every double column of tab (list elements too) to opts.
func splitDoubles(tab *schema.Table, opts ...parquet.WriterProperty) []parquet.WriterProperty {
	for _, c := range tab.Columns {
		switch c.Type {
		case schema.Float64:
			opts = append(opts, parquet.WithEncodingFor(c.Name, parquet.Encodings.ByteStreamSplit))
		case schema.Float64List:
			opts = append(opts, parquet.WithEncodingFor(c.Name+".list.element", parquet.Encodings.ByteStreamSplit))
		}
	}
	return opts
}

// TestSplitDoublesDecodedFromPages: the tickers' BYTE_STREAM_SPLIT volumes, as okxtape writes them, and
// books rewritten with split price and size lists, are decoded from their pages (intpages.go, listpages.go),
// not through arrow-go's column readers (TestDecoderMatchesArrowReader checks the values).
func TestSplitDoublesDecodedFromPages(t *testing.T) {
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(16, 17))
	s := NewSink(dir, Options{RowGroupRows: 64})
	if err := s.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	in := map[*schema.Table][]schema.Stored{}
	for _, tab := range []*schema.Table{schema.TickerTable, schema.BookTable} {
		for k := range 200 {
			in[tab] = append(in[tab], storetest.RandEvent(r, tab, uint64(k+1), storetest.Day0+int64(r.IntN(3600_000))))
		}
	}
	pqWriteAll(t, s, in)
	tickers, err := ListParts(dir, "tickers", time.Time{}, time.Time{})
	if err != nil || len(tickers) == 0 {
		t.Fatalf("%d ticker parts, %v", len(tickers), err)
	}
	books, err := ListParts(dir, "books", time.Time{}, time.Time{})
	if err != nil || len(books) == 0 {
		t.Fatalf("%d book parts, %v", len(books), err)
	}
	split := filepath.Join(t.TempDir(), "books", "date=2025-01-01", filepath.Base(books[0].Path))
	copyFile(t, books[0].Path, split)
	storetest.RewriteWithPqarrow(t, split, parquet.NewWriterProperties(splitDoubles(schema.BookTable,
		parquet.WithCompression(compress.Codecs.Zstd), parquet.WithDictionaryDefault(false))...))
	for path, cols := range map[string][]string{tickers[0].Path: {"vol_24h", "vol_ccy_24h"}, split: {"bid_px", "ask_sz"}} {
		rd, err := OpenRows(path, nil, 100)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rd.Read(1, func(schema.Stored) error { return nil }); err != nil {
			t.Fatal(err)
		}
		for _, name := range cols {
			c := rd.rows.cols[slices.IndexFunc(rd.rows.cols, func(c colDec) bool { return c.name == name })]
			cc, err := rd.pf.MetaData().RowGroup(0).ColumnChunk(c.leaf)
			if err != nil || !slices.Contains(cc.Encodings(), parquet.Encodings.ByteStreamSplit) {
				t.Fatalf("%s: column %s is not split: %v", path, name, err)
			}
			if !c.fast || c.cp.arrow != nil {
				t.Errorf("%s: split column %s read through arrow-go", path, name)
			}
		}
		rd.Close()
	}
}
