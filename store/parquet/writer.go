package parquet

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unsafe"

	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	pqschema "github.com/apache/arrow-go/v18/parquet/schema"

	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/store"
)

// metaDataset is the key-value metadata entry naming a part file's dataset.
const metaDataset = "okxtape.dataset"

// privateDatasets hold an account's own orders, fills, balances and positions: their files are 0600.
var privateDatasets = map[string]bool{"orders": true, "fills": true, "balances": true, "positions": true}

// FileMode returns the permissions of a dataset's files: 0600 for private datasets, 0644 for market data.
func FileMode(dataset string) os.FileMode {
	if privateDatasets[dataset] {
		return 0o600
	}
	return 0o644
}

// tableProps are the Parquet schema and writer settings of one table, derived once.
type tableProps struct {
	t      *schema.Table
	schema *pqschema.Schema
	props  *parquet.WriterProperties
}

// newTableProps derives the writer settings from the table's columns: the Parquet schema pqarrow derives
// from ArrowSchema (so every reader sees the same types as before), dictionary encoding only for
// dictionary string columns (never for floats), DELTA_BINARY_PACKED for integers and timestamps (lists
// too), PLAIN for floats (BYTE_STREAM_SPLIT measured 17-160 % larger for prices and sizes) except the running
// totals marked Split (BYTE_STREAM_SPLIT: 18 % smaller for the 24 h volumes), zstd everywhere,
// statistics on (but for raw frames), and the sort order (inst_id, ts, seq) of every row group recorded as
// sorting_columns. Extra writer properties are applied last (benchmarks compare settings with them).
func newTableProps(t *schema.Table, o Options, extra ...parquet.WriterProperty) (*tableProps, error) {
	pqs, err := pqarrow.ToParquet(ArrowSchema(t), nil, pqarrow.NewArrowWriterProperties())
	if err != nil {
		return nil, fmt.Errorf("parquet schema of %s: %w", t.Name, err)
	}
	if pqs.NumColumns() != len(t.Columns) {
		return nil, fmt.Errorf("parquet schema of %s: %d leaves for %d columns", t.Name, pqs.NumColumns(), len(t.Columns))
	}
	opts := []parquet.WriterProperty{
		parquet.WithCompression(compress.Codecs.Zstd),
		parquet.WithDictionaryDefault(false),
		parquet.WithMaxRowGroupLength(1 << 40), // row groups are cut by the sink (rowgroups.go)
		parquet.WithStats(true),
		parquet.WithCreatedBy("okxtape"),
	}
	if o.CompressionLevel != 0 {
		opts = append(opts, parquet.WithCompressionLevel(o.CompressionLevel))
	}
	if t.Kind == schema.KindRaw && o.RawFrameLevel > 0 {
		// Raw frames are most of a store's bytes and compress much better at a higher level.
		opts = append(opts, parquet.WithCompressionLevelFor("frame", o.RawFrameLevel))
	}
	if t.Kind == schema.KindRaw {
		// A raw frame's min and max (whole frames, in every page header and column chunk) prune nothing and
		// cost write CPU and footer bytes.
		opts = append(opts, parquet.WithStatsFor("frame", false))
	}
	var sorting []parquet.SortingColumn
	for _, name := range []string{"inst_id", "ts", "seq"} {
		if i := pqs.ColumnIndexByName(name); i >= 0 {
			sorting = append(sorting, parquet.SortingColumn{ColumnIdx: int32(i)})
		}
	}
	opts = append(opts, parquet.WithSortingColumns(sorting))
	for i := 0; i < pqs.NumColumns(); i++ {
		leaf := pqs.Column(i)
		path := leaf.Path()
		root, _, _ := strings.Cut(path, ".")
		if t.Index(root) != i {
			return nil, fmt.Errorf("parquet schema of %s: leaf %d is %s", t.Name, i, path)
		}
		c := t.Columns[i]
		list := c.Type == schema.Float64List || c.Type == schema.Int64List
		if want := int16(0); list {
			want = 1
			if leaf.MaxDefinitionLevel() != want || leaf.MaxRepetitionLevel() != want {
				return nil, fmt.Errorf("parquet schema of %s: list %s has levels %d/%d", t.Name, path,
					leaf.MaxDefinitionLevel(), leaf.MaxRepetitionLevel())
			}
		} else if leaf.MaxDefinitionLevel() != 0 || leaf.MaxRepetitionLevel() != 0 {
			return nil, fmt.Errorf("parquet schema of %s: column %s is not required", t.Name, path)
		}
		if list {
			// A list element's min and max (over every level of every book in the chunk) prune nothing any
			// reader asks, and cost footer bytes that every replay parses.
			opts = append(opts, parquet.WithStatsFor(path, false))
		}
		switch c.Type {
		case schema.String:
			if c.Dict {
				opts = append(opts, parquet.WithDictionaryFor(path, true))
			}
		case schema.Int64, schema.TimeMs, schema.TimeNs, schema.Int64List:
			opts = append(opts, parquet.WithEncodingFor(path, parquet.Encodings.DeltaBinaryPacked))
		case schema.Float64:
			if c.Split {
				opts = append(opts, parquet.WithEncodingFor(path, parquet.Encodings.ByteStreamSplit))
			}
		}
	}
	opts = append(opts, extra...)
	return &tableProps{t: t, schema: pqs, props: parquet.NewWriterProperties(opts...)}, nil
}

// emptyBytes is the empty string's value: empty but not nil.
var emptyBytes = parquet.ByteArray([]byte{})

// writeScratch is reused between column writes: byte-array headers and list levels.
type writeScratch struct {
	bas      []parquet.ByteArray
	def, rep []int16
}

// writeColumn writes rows lo..hi-1 of one column buffer to its column chunk. It is the one place that maps a
// column type to its Parquet writer: a new column type adds one case here and one RowWriter method in
// colbuf.go.
func writeColumn(cw file.ColumnChunkWriter, c *colBuf, lo, hi int, sc *writeScratch) error {
	var err error
	ok := false
	switch c.typ {
	case schema.Int64, schema.TimeMs, schema.TimeNs:
		if w, is := cw.(*file.Int64ColumnChunkWriter); is {
			ok = true
			_, err = w.WriteBatch(c.ints[lo:hi], nil, nil)
		}
	case schema.Float64:
		if w, is := cw.(*file.Float64ColumnChunkWriter); is {
			ok = true
			_, err = w.WriteBatch(c.floats[lo:hi], nil, nil)
		}
	case schema.Bool:
		if w, is := cw.(*file.BooleanColumnChunkWriter); is {
			ok = true
			_, err = w.WriteBatch(c.bools[lo:hi], nil, nil)
		}
	case schema.String:
		if w, is := cw.(*file.ByteArrayColumnChunkWriter); is {
			ok = true
			bas := sc.bas[:0]
			for i := lo; i < hi; i++ {
				v := c.str(i)
				if len(v) == 0 {
					bas = append(bas, emptyBytes) // never nil: arrow-go's dictionary memo takes nil for null
					continue
				}
				bas = append(bas, unsafe.Slice(unsafe.StringData(v), len(v)))
			}
			_, err = w.WriteBatch(bas, nil, nil)
			clear(bas) // no pointers into the buffer are kept
			sc.bas = bas[:0]
		}
	case schema.Float64List:
		if w, is := cw.(*file.Float64ColumnChunkWriter); is {
			ok = true
			sc.levels(c, lo, hi)
			_, err = w.WriteBatch(c.floats[c.end(lo-1):c.end(hi-1)], sc.def, sc.rep)
		}
	case schema.Int64List:
		if w, is := cw.(*file.Int64ColumnChunkWriter); is {
			ok = true
			sc.levels(c, lo, hi)
			_, err = w.WriteBatch(c.ints[c.end(lo-1):c.end(hi-1)], sc.def, sc.rep)
		}
	}
	if !ok {
		return fmt.Errorf("column %s: no %s writer for %T", cw.Descr().Name(), c.typ, cw)
	}
	return err
}

// levels fills the definition and repetition levels of list rows lo..hi-1 (a required list of required
// values: an empty list is one level pair (0, 0), a value is defined at 1, and every value but a row's first
// repeats at 1).
func (sc *writeScratch) levels(c *colBuf, lo, hi int) {
	def, rep := sc.def[:0], sc.rep[:0]
	for i := lo; i < hi; i++ {
		n := c.end(i) - c.end(i-1)
		if n == 0 {
			def, rep = append(def, 0), append(rep, 0)
			continue
		}
		def, rep = append(def, 1), append(rep, 0)
		for j := 1; j < n; j++ {
			def, rep = append(def, 1), append(rep, 1)
		}
	}
	sc.def, sc.rep = def, rep
}

// partWriter streams one part file: row groups are encoded and written as they are handed over, to a
// temporary name; finish adds the footer, fsyncs and renames the file to its final name.
type partWriter struct {
	tp     *tableProps
	tmp    string
	f      *os.File
	bw     *bufio.Writer
	fw     *file.Writer
	groups int
	slices strings.Builder // the metaSlices value
	bounds strings.Builder // the metaGroups value
}

// partBuffer is the write buffer of a part file (pages are compressed before they reach it).
const partBuffer = 256 << 10

// openPart creates the temporary file tmp (and its folders).
func openPart(tp *tableProps, tmp string) (*partWriter, error) {
	if err := os.MkdirAll(filepath.Dir(tmp), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, FileMode(tp.t.Name))
	if err != nil {
		return nil, err
	}
	p := &partWriter{tp: tp, tmp: tmp, f: f, bw: bufio.NewWriterSize(f, partBuffer)}
	p.fw, err = file.NewParquetWriterWithError(p.bw, tp.schema.Root(), file.WithWriterProps(tp.props))
	if err != nil {
		p.abort()
		return nil, err
	}
	return p, nil
}

// writeGroup writes rows lo..hi-1 of b as one row group.
func (p *partWriter) writeGroup(b *rowBuf, lo, hi int, sc *writeScratch) error {
	rgw, err := p.fw.AppendRowGroupChecked()
	if err != nil {
		return err
	}
	for i := range b.cols {
		cw, err := rgw.NextColumn()
		if err != nil {
			return err
		}
		if err := writeColumn(cw, &b.cols[i], lo, hi, sc); err != nil {
			return err
		}
	}
	if err := rgw.Close(); err != nil {
		return err
	}
	if g, ok := groupBounds(b, p.tp.t.Index("channel"), lo, hi); ok {
		formatGroup(&p.bounds, p.groups, g)
	}
	if inst := &b.cols[b.instCol]; hi-lo > 2*SliceRows && inst.idx[lo] == inst.idx[hi-1] { // one instrument
		ts, seq := b.cols[b.tsCol].ints[lo:hi], b.cols[b.seqCol].ints[lo:hi]
		formatSlices(&p.slices, p.groups, SliceCuts(ts, seq, SliceRows))
	}
	p.groups++
	return nil
}

// finish writes the footer, fsyncs the file, renames it to final and fsyncs the folders. renamed reports
// whether the file is under its final name (an error after that is the folders' fsync).
func (p *partWriter) finish(final string) (renamed bool, err error) {
	meta := [][2]string{{metaDataset, p.tp.t.Name}, {metaRowGroups, rowGroupsByInst}}
	if p.slices.Len() > 0 {
		meta = append(meta, [2]string{metaSlices, p.slices.String()})
	}
	if p.bounds.Len() > 0 {
		meta = append(meta, [2]string{metaGroups, p.bounds.String()})
	}
	for _, kv := range meta {
		if err := p.fw.AppendKeyValueMetadata(kv[0], kv[1]); err != nil {
			return false, errors.Join(err, p.abort())
		}
	}
	err = p.fw.Close()
	if err == nil {
		err = p.bw.Flush()
	}
	if err == nil {
		err = p.f.Sync()
	}
	if cerr := p.f.Close(); err == nil {
		err = cerr
	}
	p.f = nil
	if err == nil {
		err = os.Rename(p.tmp, final)
	}
	if err != nil {
		return false, errors.Join(err, p.abort())
	}
	dateDir := filepath.Dir(final)
	if err := store.SyncDir(dateDir); err != nil {
		return true, err
	}
	return true, store.SyncDir(filepath.Dir(dateDir))
}

// abort closes and removes the temporary file.
func (p *partWriter) abort() error {
	if p.f != nil {
		p.f.Close()
		p.f = nil
	}
	if err := os.Remove(p.tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}
