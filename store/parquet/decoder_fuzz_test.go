package parquet

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"

	"github.com/okxtape/okxtape/internal/storetest"
	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/store"
)

var (
	damageOnce  sync.Once
	damageFiles map[string][]byte // dataset -> a part file written by the sink
	damageErr   error
)

// goodFiles returns one books and one tickers part file written by the sink (lists, dictionary strings,
// delta-encoded integers, zstd pages), written once per test binary.
func goodFiles(t testing.TB) map[string][]byte {
	t.Helper()
	damageOnce.Do(func() {
		dir, err := os.MkdirTemp("", "okxtape-damage-")
		if err != nil {
			damageErr = err
			return
		}
		defer os.RemoveAll(dir)
		r := rand.New(rand.NewPCG(5, 6))
		s := NewSink(dir, Options{RowGroupRows: 128})
		if damageErr = s.Open(context.Background()); damageErr != nil {
			return
		}
		ctx := context.Background()
		for _, tab := range []*schema.Table{schema.BookTable, schema.TickerTable} {
			var evs []schema.Stored
			for k := range 600 {
				evs = append(evs, storetest.RandEvent(r, tab, uint64(k+1), storetest.Day0+int64(r.IntN(3600_000))))
			}
			if damageErr = s.Write(ctx, store.Batch{Table: tab, Events: evs}); damageErr != nil {
				return
			}
		}
		if damageErr = s.Flush(ctx); damageErr != nil {
			return
		}
		damageFiles = map[string][]byte{}
		for _, ds := range []string{"books", "tickers"} {
			parts, err := ListParts(dir, ds, time.Time{}, time.Time{})
			if err != nil || len(parts) != 1 {
				damageErr = err
				return
			}
			if damageFiles[ds], damageErr = os.ReadFile(parts[0].Path); damageErr != nil {
				return
			}
		}
		// The books rewritten uncompressed and without dictionaries: damage reaches the page decoders
		// (levels, values) instead of failing zstd's checks.
		raw := filepath.Join(dir, "raw", "books", "date=2025-01-01", "part-000000-1-600.parquet")
		if damageErr = os.MkdirAll(filepath.Dir(raw), 0o755); damageErr != nil {
			return
		}
		if damageErr = os.WriteFile(raw, damageFiles["books"], 0o644); damageErr != nil {
			return
		}
		storetest.RewriteWithPqarrow(t, raw, parquet.NewWriterProperties(parquet.WithDictionaryDefault(false)))
		damageFiles["books uncompressed"], damageErr = os.ReadFile(raw)
	})
	if damageErr != nil || damageFiles == nil {
		t.Fatalf("writing the files to damage: %v", damageErr)
	}
	return damageFiles
}

// readDamaged writes b as a part file of dataset ds (its first word) and reads it with the column decoder.
func readDamaged(t testing.TB, dir, ds string, b []byte) (rows int, path string, err error) {
	t.Helper()
	ds, _, _ = strings.Cut(ds, " ")
	path = filepath.Join(dir, ds, "date=2025-01-01", "part-000000-1-600.parquet")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := OpenRows(path, nil, 100)
	if err != nil {
		return 0, path, err
	}
	defer r.Close()
	rows, err = r.Read(1<<30, func(schema.Stored) error { return nil })
	return rows, path, err
}

// chunkRanges returns the byte ranges of the column chunks of row group 0, with whether the decoder reads
// the chunk (a string column whose statistics hold one value is taken from the footer, not read).
func chunkRanges(t testing.TB, path string) (ranges [][2]int64, read []bool) {
	t.Helper()
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	rg := pf.MetaData().RowGroup(0)
	for i := 0; i < rg.NumColumns(); i++ {
		cc, err := rg.ColumnChunk(i)
		if err != nil {
			t.Fatal(err)
		}
		start := cc.DataPageOffset()
		if cc.HasDictionaryPage() && cc.DictionaryPageOffset() > 0 {
			start = min(start, cc.DictionaryPageOffset())
		}
		ranges = append(ranges, [2]int64{start, start + cc.TotalCompressedSize()})
		lo, hi, ok := byteStats(rg, i)
		read = append(read, !(ok && lo == hi && pf.MetaData().Schema.Column(i).MaxDefinitionLevel() == 0))
	}
	return ranges, read
}

// TestDamagedColumnChunkIsAnError: every column chunk the decoder reads, overwritten with garbage (footer
// intact), makes the read fail with an error naming the file; a byte flipped anywhere in it fails the read or
// leaves every row there; nothing panics.
func TestDamagedColumnChunkIsAnError(t *testing.T) {
	for ds, good := range goodFiles(t) {
		dir := t.TempDir()
		rows, path, err := readDamaged(t, dir, ds, good)
		if err != nil || rows != 600 {
			t.Fatalf("%s undamaged: %d rows, %v", ds, rows, err)
		}
		ranges, read := chunkRanges(t, path)
		checked := 0
		for i, rg := range ranges {
			if !read[i] {
				continue
			}
			checked++
			b := append([]byte(nil), good...)
			for k := rg[0]; k < rg[1]; k++ {
				b[k] = 0xA5
			}
			if _, _, err := readDamaged(t, dir, ds, b); err == nil || !strings.Contains(err.Error(), filepath.Base(path)) {
				t.Errorf("%s column chunk %d overwritten: err %v", ds, i, err)
			}
			for _, at := range []int64{rg[0], (rg[0] + rg[1]) / 2, rg[1] - 1} {
				b := append([]byte(nil), good...)
				b[at] ^= 0x5A
				if n, _, err := readDamaged(t, dir, ds, b); err == nil && n != 600 {
					t.Errorf("%s byte %d flipped: %d rows and no error", ds, at, n)
				}
			}
		}
		if checked < 5 {
			t.Fatalf("%s: only %d column chunks checked", ds, checked)
		}
	}
}

// fuzzFiles are the goodFiles FuzzDamagedFile damages, by its which argument.
var fuzzFiles = []string{"books", "tickers", "books uncompressed"}

// FuzzDamagedFile overwrites n bytes at an offset of a books or tickers part file, or of the books rewritten
// uncompressed (footer intact), and reads it with the column decoder: an error or every row, never a panic.
func FuzzDamagedFile(f *testing.F) {
	f.Add(uint32(100), uint16(1), byte(0xFF), uint8(0))
	f.Add(uint32(4000), uint16(64), byte(0), uint8(1))
	f.Add(uint32(12345), uint16(3), byte(0x80), uint8(0))
	f.Add(uint32(777), uint16(500), byte(0x01), uint8(1))
	dir := f.TempDir()
	// Seeds in the list column chunks (decoded from their pages: listpages.go) of the books file and of its
	// uncompressed rewrite: at the page header, in the level sections near its start, and in the values.
	for which, ds := range fuzzFiles {
		if !strings.HasPrefix(ds, "books") {
			continue
		}
		_, path, err := readDamaged(f, dir, ds, goodFiles(f)[ds])
		if err != nil {
			f.Fatal(err)
		}
		ranges, _ := chunkRanges(f, path)
		for _, c := range []string{"bid_px", "ask_n"} {
			rg := ranges[schema.BookTable.Index(c)]
			for _, at := range []int64{rg[0], rg[0] + 24, (rg[0] + rg[1]) / 2} {
				f.Add(uint32(at-4), uint16(2), byte(0x7F), uint8(which))
			}
		}
	}
	f.Fuzz(func(t *testing.T, at uint32, n uint16, v byte, which uint8) {
		ds := fuzzFiles[int(which)%len(fuzzFiles)]
		good := goodFiles(t)[ds]
		b := append([]byte(nil), good...)
		// The footer (its length and magic, then the metadata before them) stays intact.
		flen := int(uint32(b[len(b)-8]) | uint32(b[len(b)-7])<<8 | uint32(b[len(b)-6])<<16 | uint32(b[len(b)-5])<<24)
		data := len(b) - 8 - flen
		if data <= 4 {
			t.Skip()
		}
		lo := 4 + int(at)%(data-4)
		for k := lo; k < min(lo+int(n), data); k++ {
			b[k] = v
		}
		if rows, _, err := readDamaged(t, dir, ds, b); err == nil && rows != 600 {
			t.Fatalf("%d rows and no error", rows)
		}
	})
}

// FuzzPageHeader: the page header parser returns a header and its length within the input, or an error;
// it never panics. Seeds: the first page headers of every column chunk of the books and tickers files.
func FuzzPageHeader(f *testing.F) {
	dir := f.TempDir()
	for ds, b := range goodFiles(f) {
		_, path, err := readDamaged(f, dir, ds, b)
		if err != nil {
			f.Fatal(err)
		}
		ranges, _ := chunkRanges(f, path)
		for _, rg := range ranges {
			f.Add(b[rg[0]:min(rg[1], rg[0]+64)])
		}
	}
	f.Add([]byte{0x15, 0x00, 0x15, 0x02, 0x15, 0x02, 0x2c, 0x15, 0x02, 0x00, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, n, err := parsePageHeader(b)
		if err == nil && (n <= 0 || n > len(b) || h.compressed < 0 || h.uncompressed < 0 || h.numValues < 0) {
			t.Fatalf("header %+v of %d bytes from %d", h, n, len(b))
		}
	})
}
