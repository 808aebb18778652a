package parquet

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"

	"github.com/okxtape/okxtape/schema"
)

// ErrIncompatibleFile means a Parquet file lacks a column of its table or stores one with another type.
var ErrIncompatibleFile = errors.New("parquet file does not match its table")

const readBatchRows = 8 << 10

// ReadFile streams the rows of one Parquet file to fn, in file order, one record batch (≤ 8k rows) at a
// time. The table comes from the file's "okxtape.dataset" metadata, else from the dataset folder of the
// path (DIR/<dataset>/date=.../x.parquet). Extra columns are ignored; a missing column or a column of
// another type is an ErrIncompatibleFile.
//
// fn receives the same reused event for every row: it is valid only during the call (copy with
// schema.Clone to keep it). Strings of dictionary columns are shared between rows. A non-nil error from fn
// stops the read and is returned as is.
func ReadFile(path string, fn func(schema.Stored) error) error {
	return ReadRowGroups(path, nil, fn)
}

// ReadRowGroups is ReadFile restricted to the row groups rowGroups (indexes in the file; nil: all), read in
// the order given.
func ReadRowGroups(path string, rowGroups []int, fn func(schema.Stored) error) error {
	r, err := OpenRows(path, rowGroups, readBatchRows)
	if err != nil {
		return err
	}
	defer r.Close()
	_, err = r.Read(math.MaxInt, fn)
	return err
}

func tableOfFile(path string, pf *file.Reader) *schema.Table {
	if v := pf.MetaData().KeyValueMetadata().FindValue(metaDataset); v != nil {
		if t := schema.TableByName(*v); t != nil {
			return t
		}
	}
	if pp, err := ParsePartPath(path); err == nil {
		return schema.TableByName(pp.Dataset)
	}
	return schema.TableByName(filepath.Base(filepath.Dir(filepath.Dir(path))))
}

// ReadDataset reads every completed part file of a dataset whose date partition lies in [from, to] (zero
// times: unbounded), in store.ListParts order (date, then first seq; rows within a file are sorted by
// (inst_id, ts, seq), so the stream is not globally time ordered). Rows whose Ts lies outside [from, to]
// are skipped.
func ReadDataset(dir, dataset string, from, to time.Time, fn func(schema.Stored) error) error {
	if schema.TableByName(dataset) == nil {
		return fmt.Errorf("read dataset: unknown dataset %q", dataset)
	}
	parts, err := ListParts(dir, dataset, from, to)
	if err != nil {
		return fmt.Errorf("read dataset %s: %w", dataset, err)
	}
	lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
	if !from.IsZero() {
		lo = from.UnixMilli()
	}
	if !to.IsZero() {
		hi = to.UnixMilli()
	}
	filter := fn
	if lo != math.MinInt64 || hi != math.MaxInt64 {
		filter = func(e schema.Stored) error {
			if ts := e.Hdr().Ts; ts < lo || ts > hi {
				return nil
			}
			return fn(e)
		}
	}
	for _, p := range parts {
		if err := ReadFile(p.Path, filter); err != nil {
			return err
		}
	}
	return nil
}

type colKind uint8

const (
	ckInt colKind = iota + 1
	ckFloat
	ckBool
	ckString
	ckDict
	ckFloatList
	ckIntList
)

// arrowCol is one column of the current record batch, as plain Go slices where possible.
type arrowCol struct {
	kind   colKind
	field  int // index in the record
	ints   []int64
	floats []float64
	nulls  arrow.Array // set when the column has nulls (floats read as NaN)
	bools  *array.Boolean
	offs   []int32
	data   []byte
	last   string
	dict   *array.Dictionary
	cache  []string
	cached []bool
}

// arrowRowReader implements schema.RowReader over a record batch: ReadRow reads row `row`.
type arrowRowReader struct {
	cols     []arrowCol
	row, col int
	err      error
}

func newArrowRowReader(t *schema.Table, sc *arrow.Schema) (*arrowRowReader, error) {
	r := &arrowRowReader{cols: make([]arrowCol, len(t.Columns))}
	for ci, c := range t.Columns {
		idx := sc.FieldIndices(c.Name)
		if len(idx) == 0 {
			return nil, fmt.Errorf("no column %q: %w", c.Name, ErrIncompatibleFile)
		}
		ft := sc.Field(idx[0]).Type
		k := kindFor(c.Type, ft)
		if k == 0 {
			return nil, fmt.Errorf("column %q is %s, want %s: %w", c.Name, ft, ArrowType(c.Type), ErrIncompatibleFile)
		}
		r.cols[ci] = arrowCol{kind: k, field: idx[0]}
	}
	return r, nil
}

func kindFor(t schema.Type, ft arrow.DataType) colKind {
	switch t {
	case schema.Int64:
		if ft.ID() == arrow.INT64 {
			return ckInt
		}
	case schema.TimeMs, schema.TimeNs:
		want := arrow.Millisecond
		if t == schema.TimeNs {
			want = arrow.Nanosecond
		}
		if ts, ok := ft.(*arrow.TimestampType); ok && ts.Unit == want {
			return ckInt
		}
	case schema.Float64:
		if ft.ID() == arrow.FLOAT64 {
			return ckFloat
		}
	case schema.Bool:
		if ft.ID() == arrow.BOOL {
			return ckBool
		}
	case schema.String:
		if ft.ID() == arrow.STRING {
			return ckString
		}
		if dt, ok := ft.(*arrow.DictionaryType); ok && dt.ValueType.ID() == arrow.STRING {
			return ckDict
		}
	case schema.Float64List, schema.Int64List:
		lt, ok := ft.(*arrow.ListType)
		if !ok {
			return 0
		}
		if t == schema.Float64List && lt.Elem().ID() == arrow.FLOAT64 {
			return ckFloatList
		}
		if t == schema.Int64List && lt.Elem().ID() == arrow.INT64 {
			return ckIntList
		}
	}
	return 0
}

func int64Values(a arrow.Array) []int64 {
	d := a.Data()
	return arrow.Int64Traits.CastFromBytes(d.Buffers()[1].Bytes())[d.Offset() : d.Offset()+d.Len()]
}

func (r *arrowRowReader) bind(rec arrow.RecordBatch) {
	for i := range r.cols {
		c := &r.cols[i]
		a := rec.Column(c.field)
		c.nulls = nil
		if a.NullN() > 0 {
			c.nulls = a
		}
		switch c.kind {
		case ckInt:
			c.ints = int64Values(a)
		case ckFloat:
			c.floats = a.(*array.Float64).Float64Values()
		case ckBool:
			c.bools = a.(*array.Boolean)
		case ckString:
			s := a.(*array.String)
			c.offs = s.ValueOffsets()
			if b := s.Data().Buffers()[2]; b != nil {
				c.data = b.Bytes()
			} else {
				c.data = nil
			}
		case ckDict:
			c.dict = a.(*array.Dictionary)
			n := c.dict.Dictionary().Len()
			c.cache = append(c.cache[:0], make([]string, n)...)
			c.cached = append(c.cached[:0], make([]bool, n)...)
		case ckFloatList, ckIntList:
			l := a.(*array.List)
			c.offs = l.Offsets()
			if c.kind == ckFloatList {
				c.floats = l.ListValues().(*array.Float64).Float64Values()
			} else {
				c.ints = int64Values(l.ListValues())
			}
		}
	}
}

func (r *arrowRowReader) next(k colKind) *arrowCol {
	if r.col >= len(r.cols) || r.cols[r.col].kind != k && !(k == ckString && r.cols[r.col].kind == ckDict) {
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

func (r *arrowRowReader) Int64() int64 {
	if c := r.next(ckInt); c != nil {
		return c.ints[r.row]
	}
	return 0
}

func (r *arrowRowReader) Float64() float64 {
	c := r.next(ckFloat)
	if c == nil || c.nulls != nil && c.nulls.IsNull(r.row) {
		return math.NaN()
	}
	return c.floats[r.row]
}

func (r *arrowRowReader) Bool() bool {
	if c := r.next(ckBool); c != nil {
		return c.bools.Value(r.row)
	}
	return false
}

func (r *arrowRowReader) String() string {
	c := r.next(ckString)
	if c == nil {
		return ""
	}
	if c.kind == ckDict {
		if c.nulls != nil && c.nulls.IsNull(r.row) {
			return ""
		}
		i := c.dict.GetValueIndex(r.row)
		if !c.cached[i] {
			c.cache[i] = strings.Clone(c.dict.Dictionary().(*array.String).Value(i))
			c.cached[i] = true
		}
		return c.cache[i]
	}
	b := c.data[c.offs[r.row]:c.offs[r.row+1]]
	if string(b) != c.last {
		c.last = string(b)
	}
	return c.last
}

func (r *arrowRowReader) Float64s(dst []float64) []float64 {
	dst = dst[:0]
	if c := r.next(ckFloatList); c != nil {
		dst = append(dst, c.floats[c.offs[r.row]:c.offs[r.row+1]]...)
	}
	return dst
}

func (r *arrowRowReader) Int64s(dst []int64) []int64 {
	dst = dst[:0]
	if c := r.next(ckIntList); c != nil {
		dst = append(dst, c.ints[c.offs[r.row]:c.offs[r.row+1]]...)
	}
	return dst
}

// poolAllocator is a memory.Allocator that recycles the page and column buffers the Parquet reader frees
// (by power-of-two size class), instead of making the runtime zero fresh memory for every page.
type poolAllocator struct {
	pools [40]sync.Pool
}

const minPooled = 4 << 10

var readerAlloc = &poolAllocator{}

func sizeClass(n int) int { return bits.Len(uint(n - 1)) }

func (p *poolAllocator) Allocate(size int) []byte {
	if size < minPooled {
		return memory.DefaultAllocator.Allocate(size)
	}
	c := sizeClass(size)
	if c >= len(p.pools) {
		return make([]byte, size)
	}
	if v := p.pools[c].Get(); v != nil {
		b := (*v.(*[]byte))[:size]
		clear(b)
		return b
	}
	return make([]byte, size, 1<<c)
}

func (p *poolAllocator) Reallocate(size int, b []byte) []byte {
	if size <= cap(b) {
		old := len(b)
		b = b[:size]
		if size > old {
			clear(b[old:])
		}
		return b
	}
	nb := p.Allocate(size)
	copy(nb, b)
	p.Free(b)
	return nb
}

func (p *poolAllocator) Free(b []byte) {
	c := cap(b)
	if c < minPooled || c&(c-1) != 0 || sizeClass(c) >= len(p.pools) {
		return
	}
	b = b[:0]
	p.pools[sizeClass(c)].Put(&b)
}
