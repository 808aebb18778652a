package parquet

import (
	"fmt"
	"math"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/okxtape/okxtape/schema"
)

// The Arrow row reader replay used before colread.go: the reference the column decoder is compared with
// (decoder_test.go). It reads rows out of pqarrow record batches.

type arrowKind uint8

const (
	akInt arrowKind = iota + 1
	akFloat
	akBool
	akString
	akDict
	akFloatList
	akIntList
)

// arrowCol is one column of the current record batch, as plain Go slices where possible.
type arrowCol struct {
	kind   arrowKind
	field  int // index in the record
	ints   []int64
	floats []float64
	nulls  arrow.Array // set when the column has nulls (floats read as NaN, other types as zero values)
	elems  arrow.Array // lists: the elements (a null element reads as NaN or 0)
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

func kindFor(t schema.Type, ft arrow.DataType) arrowKind {
	switch t {
	case schema.Int64:
		if ft.ID() == arrow.INT64 {
			return akInt
		}
	case schema.TimeMs, schema.TimeNs:
		want := arrow.Millisecond
		if t == schema.TimeNs {
			want = arrow.Nanosecond
		}
		if ts, ok := ft.(*arrow.TimestampType); ok && ts.Unit == want {
			return akInt
		}
	case schema.Float64:
		if ft.ID() == arrow.FLOAT64 {
			return akFloat
		}
	case schema.Bool:
		if ft.ID() == arrow.BOOL {
			return akBool
		}
	case schema.String:
		if ft.ID() == arrow.STRING {
			return akString
		}
		if dt, ok := ft.(*arrow.DictionaryType); ok && dt.ValueType.ID() == arrow.STRING {
			return akDict
		}
	case schema.Float64List, schema.Int64List:
		lt, ok := ft.(*arrow.ListType)
		if !ok {
			return 0
		}
		if t == schema.Float64List && lt.Elem().ID() == arrow.FLOAT64 {
			return akFloatList
		}
		if t == schema.Int64List && lt.Elem().ID() == arrow.INT64 {
			return akIntList
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
		case akInt:
			c.ints = int64Values(a)
		case akFloat:
			c.floats = a.(*array.Float64).Float64Values()
		case akBool:
			c.bools = a.(*array.Boolean)
		case akString:
			s := a.(*array.String)
			c.offs = s.ValueOffsets()
			if b := s.Data().Buffers()[2]; b != nil {
				c.data = b.Bytes()
			} else {
				c.data = nil
			}
		case akDict:
			c.dict = a.(*array.Dictionary)
			n := c.dict.Dictionary().Len()
			c.cache = append(c.cache[:0], make([]string, n)...)
			c.cached = append(c.cached[:0], make([]bool, n)...)
		case akFloatList, akIntList:
			l := a.(*array.List)
			c.offs = l.Offsets()
			c.elems = l.ListValues()
			if c.kind == akFloatList {
				c.floats = l.ListValues().(*array.Float64).Float64Values()
			} else {
				c.ints = int64Values(l.ListValues())
			}
		}
	}
}

func (r *arrowRowReader) next(k arrowKind) *arrowCol {
	if r.col >= len(r.cols) || r.cols[r.col].kind != k && !(k == akString && r.cols[r.col].kind == akDict) {
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
	if c := r.next(akInt); c != nil && (c.nulls == nil || !c.nulls.IsNull(r.row)) {
		return c.ints[r.row]
	}
	return 0
}

func (r *arrowRowReader) Float64() float64 {
	c := r.next(akFloat)
	if c == nil || c.nulls != nil && c.nulls.IsNull(r.row) {
		return math.NaN()
	}
	return c.floats[r.row]
}

func (r *arrowRowReader) Bool() bool {
	if c := r.next(akBool); c != nil && (c.nulls == nil || !c.nulls.IsNull(r.row)) {
		return c.bools.Value(r.row)
	}
	return false
}

func (r *arrowRowReader) String() string {
	c := r.next(akString)
	if c == nil {
		return ""
	}
	if c.kind == akDict {
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
	if c := r.next(akFloatList); c != nil {
		for k := c.offs[r.row]; k < c.offs[r.row+1]; k++ {
			if c.elems.IsNull(int(k)) {
				dst = append(dst, math.NaN())
			} else {
				dst = append(dst, c.floats[k])
			}
		}
	}
	return dst
}

func (r *arrowRowReader) Int64s(dst []int64) []int64 {
	dst = dst[:0]
	if c := r.next(akIntList); c != nil {
		for k := c.offs[r.row]; k < c.offs[r.row+1]; k++ {
			if c.elems.IsNull(int(k)) {
				dst = append(dst, 0)
			} else {
				dst = append(dst, c.ints[k])
			}
		}
	}
	return dst
}
