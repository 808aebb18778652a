package parquet

import (
	"fmt"
	"math"
	"reflect"
	"unsafe"

	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"

	"github.com/okxtape/okxtape/schema"
)

// RowReader reads the rows of some row groups of a Parquet file a few at a time, decoding one batch of at
// most batch rows of every column at a time (colread.go) into one reused event: its memory is a batch,
// whatever the number of rows, and its buffers are reused from batch to batch and row group to row group.
// Not safe for concurrent use.
type RowReader struct {
	path   string
	t      *schema.Table
	pf     *file.Reader
	src    chunkSource                     // pf's file, for the page readers of the column decoders
	ccs    []*metadata.ColumnChunkMetaData // the open row group's column chunks, by column
	span   []byte                          // the open row group's bytes (readSpan), from pageAlloc
	groups []int                           // row groups to read, in order
	gi     int                             // next of groups to open
	left   int64                           // rows of the open row group not yet decoded
	batch  int
	rows   batchRows
	plan   *fillPlan        // nil: rows go through ReadRow
	pcols  []unsafe.Pointer // the plan's columns in the batch (fillPlan.columns)
	ev     schema.Stored
	n      int // rows in the batch
	read   int // rows passed on so far
}

// OpenRows opens path for reading the row groups rowGroups (nil: all) in the order given, in batches of
// batch rows. The table and the column checks are ReadFile's.
func OpenRows(path string, rowGroups []int, batch int) (*RowReader, error) {
	pf, src, err := openFile(path, nil)
	if err != nil {
		return nil, err
	}
	r, err := openRows(path, pf, src, rowGroups, batch)
	if err != nil {
		pf.Close()
		return nil, err
	}
	return r, nil
}

// OpenRowsOf is OpenRows on a file whose footer was read by FileFooter.
func OpenRowsOf(ft *Footer, rowGroups []int, batch int) (*RowReader, error) {
	pf, src, err := ft.open()
	if err != nil {
		return nil, err
	}
	r, err := openRows(ft.Path, pf, src, rowGroups, batch)
	if err != nil {
		pf.Close()
		return nil, err
	}
	return r, nil
}

func openRows(path string, pf *file.Reader, src chunkSource, rowGroups []int, batch int) (*RowReader, error) {
	t := tableOfFile(path, pf)
	if t == nil {
		return nil, fmt.Errorf("parquet %s: cannot tell its dataset (no %s metadata, no dataset folder): %w",
			path, metaDataset, ErrIncompatibleFile)
	}
	cols, err := newColDecs(t, pf.MetaData().Schema)
	if err != nil {
		return nil, fmt.Errorf("parquet %s: %w", path, err)
	}
	if rowGroups == nil {
		rowGroups = make([]int, pf.NumRowGroups())
		for i := range rowGroups {
			rowGroups[i] = i
		}
	}
	for _, g := range rowGroups {
		if g < 0 || g >= pf.NumRowGroups() {
			putColDecs(t, cols)
			return nil, fmt.Errorf("parquet %s: no row group %d (%d): %w", path, g, pf.NumRowGroups(), ErrIncompatibleFile)
		}
	}
	return &RowReader{path: path, t: t, pf: pf, src: src, groups: rowGroups, batch: max(batch, 1), rows: batchRows{cols: cols},
		plan: planFor(t, cols), ev: t.New()}, nil
}

// Read passes up to max more rows to fn (the same reused event each time, valid only during the call) and
// returns how many it passed; fewer than max only at the end of the row groups. A non-nil error from fn
// stops the read and is returned as is.
func (r *RowReader) Read(max int, fn func(schema.Stored) error) (int, error) {
	return r.ReadTo(max, reusedEvent(fn))
}

// reusedEvent is the RowSink of Read: every row in the reader's event, passed to fn.
type reusedEvent func(schema.Stored) error

func (s reusedEvent) Slot() schema.Stored       { return nil }
func (s reusedEvent) Row(e schema.Stored) error { return s(e) }

// RowSink receives rows decoded in place (RowReader.ReadTo): Slot returns the event the next row is read
// into (nil: the reader's own reused event); Row is called once it holds the row (a slot that Row does not keep may be returned again by the next
// Slot). A non-nil error from Row stops the read and is returned as is.
type RowSink interface {
	Slot() schema.Stored
	Row(e schema.Stored) error
}

// ReadTo is Read decoding each row straight into the event sink.Slot returns, so a caller that keeps rows
// copies nothing.
func (r *RowReader) ReadTo(max int, sink RowSink) (int, error) {
	n := 0
	rd := &r.rows
	for n < max {
		if rd.row >= r.n {
			if err := r.nextBatch(); err != nil {
				return n, err
			}
			if r.n == 0 {
				return n, nil
			}
		}
		end := min(r.n, rd.row+max-n)
		for ; rd.row < end; rd.row++ {
			rd.col = 0
			ev := sink.Slot()
			if ev == nil {
				ev = r.ev
			}
			if r.plan != nil && reflect.TypeOf(ev) == r.plan.typ {
				r.plan.fill(ev, rd, r.pcols)
			} else {
				ev.ReadRow(rd)
			}
			if rd.err != nil {
				return n, fmt.Errorf("parquet %s row %d: %w", r.path, r.read, rd.err)
			}
			r.read++
			n++
			if err := sink.Row(ev); err != nil {
				rd.row++
				return n, err
			}
		}
	}
	return n, nil
}

// nextBatch decodes the next batch of rows (r.n == 0 at the end of the row groups).
func (r *RowReader) nextBatch() (err error) {
	r.n, r.rows.row = 0, 0
	for r.left == 0 {
		if r.gi >= len(r.groups) {
			return nil
		}
		g := r.groups[r.gi]
		r.gi++
		if err := r.openGroup(g); err != nil {
			return fmt.Errorf("parquet %s row group %d: %w", r.path, g, err)
		}
	}
	want := int(min(int64(r.batch), r.left))
	defer func() {
		// arrow-go's page decoders may panic on damaged data; a damaged file is an error like any other.
		if p := recover(); p != nil {
			err = fmt.Errorf("parquet %s row group %d: damaged column chunk: %v", r.path, r.groups[r.gi-1], p)
		}
	}()
	for i := range r.rows.cols {
		if err := r.rows.cols[i].read(want); err != nil {
			return fmt.Errorf("parquet %s row group %d: %w", r.path, r.groups[r.gi-1], err)
		}
	}
	r.n, r.left = want, r.left-int64(want)
	if r.plan != nil {
		r.pcols = r.plan.columns(&r.rows, want, r.pcols)
	}
	return nil
}

func (r *RowReader) openGroup(g int) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("damaged column chunk: %v", p)
		}
	}()
	rg := r.pf.RowGroup(g)
	r.ccs = r.ccs[:0]
	for i := range r.rows.cols {
		cc, err := rg.MetaData().ColumnChunk(r.rows.cols[i].leaf)
		if err != nil {
			return fmt.Errorf("column %s: %w", r.rows.cols[i].name, err)
		}
		r.ccs = append(r.ccs, cc)
	}
	src, span, err := readSpan(r.src, r.ccs, r.span)
	r.span = span
	if err != nil {
		return err
	}
	for i := range r.rows.cols {
		if err := r.rows.cols[i].open(rg, src, r.ccs[i]); err != nil {
			return err
		}
	}
	r.left = rg.NumRows()
	if r.left < 0 {
		return fmt.Errorf("%d rows: %w", r.left, ErrIncompatibleFile)
	}
	return nil
}

// Close releases the reader and its file.
func (r *RowReader) Close() {
	if r.rows.cols != nil {
		for i := range r.rows.cols {
			r.rows.cols[i].close()
		}
		putColDecs(r.t, r.rows.cols)
		r.rows.cols = nil
	}
	if r.pf != nil {
		r.pf.Close()
		r.pf = nil
	}
	if r.span != nil {
		pageAlloc.Free(r.span)
		r.span = nil
	}
}

// batchRows implements schema.RowReader over a decoded batch: ReadRow reads row `row`.
type batchRows struct {
	cols     []colDec
	row, col int
	err      error
}

func (r *batchRows) next(k colKind) *colDec {
	if r.col >= len(r.cols) || r.cols[r.col].kind.yields() != k {
		if r.err == nil {
			r.err = fmt.Errorf("column %d read as the wrong type: %w", r.col, ErrIncompatibleFile)
		}
		r.col++
		return nil
	}
	c := &r.cols[r.col]
	r.col++
	return c
}

func (r *batchRows) Int64() int64 {
	if c := r.next(ckInt); c != nil {
		return c.ints[r.row]
	}
	return 0
}

func (r *batchRows) Float64() float64 {
	if c := r.next(ckFloat); c != nil {
		return c.floats[r.row]
	}
	return math.NaN()
}

func (r *batchRows) Bool() bool {
	if c := r.next(ckBool); c != nil {
		return c.bools[r.row]
	}
	return false
}

func (r *batchRows) String() string {
	if c := r.next(ckString); c != nil {
		return c.strs[r.row]
	}
	return ""
}

func (r *batchRows) Float64s(dst []float64) []float64 {
	dst = dst[:0]
	if c := r.next(ckFloatList); c != nil {
		dst = append(dst, c.floats[c.offs[r.row]:c.offs[r.row+1]]...)
	}
	return dst
}

// Levels implements schema.LevelReader: a book side's price, size and count lists read at once.
func (r *batchRows) Levels(dst []schema.Level) []schema.Level {
	px, sz, n := r.next(ckFloatList), r.next(ckFloatList), r.next(ckIntList)
	if px == nil || sz == nil || n == nil {
		return dst[:0]
	}
	return levelsOf(px, sz, n, r.row, dst)
}

// levelsOf appends to dst[:0] the levels of row i from its price, size and count list columns.
func levelsOf(px, sz, n *colDec, i int, dst []schema.Level) []schema.Level {
	dst = dst[:0]
	p := px.floats[px.offs[i]:px.offs[i+1]]
	s := sz.floats[sz.offs[i]:sz.offs[i+1]]
	c := n.ints[n.offs[i]:n.offs[i+1]]
	if len(s) == len(p) && len(c) == len(p) {
		if cap(dst) < len(p) {
			dst = make([]schema.Level, len(p), max(len(p), 2*cap(dst)))
		}
		dst = dst[:len(p)]
		for k := range dst { // one length check for the side, not one per level
			dst[k] = schema.Level{Px: p[k], Sz: s[k], Orders: c[k]}
		}
		return dst
	}
	for k := range p { // ragged sides (not written by okxtape): what Book.ReadRow's column path gives
		lv := schema.Level{Px: p[k]}
		if k < len(s) {
			lv.Sz = s[k]
		}
		if k < len(c) {
			lv.Orders = c[k]
		}
		dst = append(dst, lv)
	}
	return dst
}

func (r *batchRows) Int64s(dst []int64) []int64 {
	dst = dst[:0]
	if c := r.next(ckIntList); c != nil {
		dst = append(dst, c.ints[c.offs[r.row]:c.offs[r.row+1]]...)
	}
	return dst
}

// tsSeqTable is the two columns TsSeqOf reads.
var tsSeqTable = &schema.Table{Name: "ts and seq", Columns: []schema.Column{{Name: "ts", Type: schema.TimeMs}, {Name: "seq", Type: schema.Int64}}}

// TsSeqOf returns the ts and seq columns of row group rg of a file read by FileFooter, in file order (for
// cutting a row group into parts that keep arrival order; see replay's ParquetSource).
func TsSeqOf(ft *Footer, rg int) (ts, seq []int64, err error) {
	path := ft.Path
	pf, src, err := ft.open()
	if err != nil {
		return nil, nil, err
	}
	cols, err := newColDecs(tsSeqTable, pf.MetaData().Schema)
	if err != nil {
		pf.Close()
		return nil, nil, fmt.Errorf("parquet %s: %w", path, err)
	}
	r := &RowReader{path: path, t: tsSeqTable, pf: pf, src: src, groups: []int{rg}, batch: readBatchRows, rows: batchRows{cols: cols}}
	defer r.Close()
	if cols[0].maxDef > 0 || cols[1].maxDef > 0 {
		return nil, nil, fmt.Errorf("parquet %s: nullable ts or seq: %w", path, ErrIncompatibleFile)
	}
	if rg < 0 || rg >= pf.NumRowGroups() {
		return nil, nil, fmt.Errorf("parquet %s: no row group %d: %w", path, rg, ErrIncompatibleFile)
	}
	for {
		if err := r.nextBatch(); err != nil {
			return nil, nil, err
		}
		if r.n == 0 {
			return ts, seq, nil
		}
		ts = append(ts, cols[0].ints[:r.n]...)
		seq = append(seq, cols[1].ints[:r.n]...)
	}
}
