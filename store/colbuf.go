package store

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/okxtape/okxtape/schema"
)

// colBuf is one column of an open Parquet file, kept as typed Go slices. Offsets are end offsets (row i
// spans offs[i-1]..offs[i], with offs[-1] = 0).
type colBuf struct {
	typ  schema.Type
	dict bool

	ints   []int64   // Int64, TimeMs, TimeNs; Int64List values
	floats []float64 // Float64; Float64List values
	bools  []bool
	offs   []int32 // plain strings (into data) and lists (into ints/floats)
	data   []byte

	dictIdx  map[string]int32 // dictionary strings: value -> index into dictVals
	dictVals []string
	idx      []int32

	// scratch for gathering a row group in sorted order, reused between row groups and files
	sInts   []int64
	sFloats []float64
	sOffs   []int32
	sBytes  []byte
}

// reset empties the column, keeping its capacity for the next file.
func (c *colBuf) reset() {
	c.ints, c.floats, c.bools, c.offs, c.data = c.ints[:0], c.floats[:0], c.bools[:0], c.offs[:0], c.data[:0]
	c.idx, c.dictVals = c.idx[:0], c.dictVals[:0]
	if c.dictIdx != nil {
		clear(c.dictIdx)
	}
}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

var errColumnType = errors.New("row does not match the table's column types")

// fileBuf buffers the rows of one open file. It implements schema.RowWriter: WriteRow appends one value to
// each column in turn.
type fileBuf struct {
	t     *schema.Table
	cols  []colBuf
	col   int
	rows  int
	cap   int // rows the per-row slices can hold without growing
	bytes int // approximate in-memory size
	err   error

	seqCol, instCol, tsCol int
}

func newFileBuf(t *schema.Table) *fileBuf {
	f := &fileBuf{t: t, cols: make([]colBuf, len(t.Columns)),
		seqCol: t.Index("seq"), instCol: t.Index("inst_id"), tsCol: t.Index("ts")}
	for i, c := range t.Columns {
		f.cols[i] = colBuf{typ: c.Type, dict: c.Dict && c.Type == schema.String}
		if f.cols[i].dict {
			f.cols[i].dictIdx = map[string]int32{}
		}
	}
	return f
}

// grow gives every per-row slice room for n rows: doubling, where append would grow big slices by 1.25x and
// copy them several times over the life of a file.
func (f *fileBuf) grow(n int) {
	for i := range f.cols {
		c := &f.cols[i]
		switch {
		case c.typ == schema.Int64 || c.typ == schema.TimeMs || c.typ == schema.TimeNs:
			c.ints = slices.Grow(c.ints, n-len(c.ints))
		case c.typ == schema.Float64:
			c.floats = slices.Grow(c.floats, n-len(c.floats))
		case c.typ == schema.Bool:
			c.bools = slices.Grow(c.bools, n-len(c.bools))
		case c.dict:
			c.idx = slices.Grow(c.idx, n-len(c.idx))
		default:
			c.offs = slices.Grow(c.offs, n-len(c.offs))
		}
	}
	f.cap = n
}

// reset empties the buffer for the next file of the same table.
func (f *fileBuf) reset() {
	for i := range f.cols {
		f.cols[i].reset()
	}
	f.rows, f.bytes, f.col, f.err = 0, 0, 0, nil
}

// add appends one event's row; a row that does not match the column types is rolled back.
func (f *fileBuf) add(e schema.Stored) error {
	f.col, f.err = 0, nil
	if f.rows == f.cap {
		f.grow(max(1024, 2*f.cap))
	}
	e.WriteRow(f)
	if f.err == nil && f.col != len(f.cols) {
		f.err = errColumnType
	}
	if f.err != nil {
		f.truncate(f.rows)
		return fmt.Errorf("parquet: %s row seq %d: %w", f.t.Name, e.Hdr().Seq, f.err)
	}
	f.rows++
	return nil
}

func (f *fileBuf) next(ok bool) *colBuf {
	if f.col >= len(f.cols) || !ok {
		f.err = errColumnType
		return nil
	}
	c := &f.cols[f.col]
	f.col++
	return c
}

func (f *fileBuf) Int64(v int64) {
	c := f.next(f.col < len(f.cols) && (f.cols[f.col].typ == schema.Int64 || f.cols[f.col].typ == schema.TimeMs ||
		f.cols[f.col].typ == schema.TimeNs))
	if c != nil {
		c.ints = append(c.ints, v)
		f.bytes += 8
	}
}

func (f *fileBuf) Float64(v float64) {
	if c := f.next(f.col < len(f.cols) && f.cols[f.col].typ == schema.Float64); c != nil {
		c.floats = append(c.floats, v)
		f.bytes += 8
	}
}

func (f *fileBuf) Bool(v bool) {
	if c := f.next(f.col < len(f.cols) && f.cols[f.col].typ == schema.Bool); c != nil {
		c.bools = append(c.bools, v)
		f.bytes++
	}
}

func (f *fileBuf) String(v string) {
	c := f.next(f.col < len(f.cols) && f.cols[f.col].typ == schema.String)
	if c == nil {
		return
	}
	if !c.dict {
		c.data = append(c.data, v...)
		c.offs = append(c.offs, int32(len(c.data)))
		f.bytes += len(v) + 4
		return
	}
	i, ok := c.dictIdx[v]
	if !ok {
		i = int32(len(c.dictVals))
		v = strings.Clone(v)
		c.dictIdx[v] = i
		c.dictVals = append(c.dictVals, v)
		f.bytes += len(v) + 16
	}
	c.idx = append(c.idx, i)
	f.bytes += 4
}

func (f *fileBuf) Float64s(v []float64) {
	if c := f.next(f.col < len(f.cols) && f.cols[f.col].typ == schema.Float64List); c != nil {
		c.floats = append(c.floats, v...)
		c.offs = append(c.offs, int32(len(c.floats)))
		f.bytes += 8*len(v) + 4
	}
}

func (f *fileBuf) Int64s(v []int64) {
	if c := f.next(f.col < len(f.cols) && f.cols[f.col].typ == schema.Int64List); c != nil {
		c.ints = append(c.ints, v...)
		c.offs = append(c.offs, int32(len(c.ints)))
		f.bytes += 8*len(v) + 4
	}
}

// truncate drops rows from n on (rolls back a partly written row).
func (f *fileBuf) truncate(n int) {
	for i := range f.cols {
		c := &f.cols[i]
		switch c.typ {
		case schema.Int64, schema.TimeMs, schema.TimeNs:
			c.ints = c.ints[:min(n, len(c.ints))]
		case schema.Float64:
			c.floats = c.floats[:min(n, len(c.floats))]
		case schema.Bool:
			c.bools = c.bools[:min(n, len(c.bools))]
		case schema.String:
			if c.dict {
				c.idx = c.idx[:min(n, len(c.idx))]
			} else {
				c.offs = c.offs[:min(n, len(c.offs))]
				c.data = c.data[:c.end(n-1)]
			}
		case schema.Float64List:
			c.offs = c.offs[:min(n, len(c.offs))]
			c.floats = c.floats[:c.end(n-1)]
		case schema.Int64List:
			c.offs = c.offs[:min(n, len(c.offs))]
			c.ints = c.ints[:c.end(n-1)]
		}
	}
}

// end returns the end offset of row i (0 before the first row).
func (c *colBuf) end(i int) int {
	if i < 0 || len(c.offs) == 0 {
		return 0
	}
	return int(c.offs[min(i, len(c.offs)-1)])
}

// sortPerm returns the row order (inst_id, ts, seq).
func (f *fileBuf) sortPerm() []int32 {
	perm := make([]int32, f.rows)
	for i := range perm {
		perm[i] = int32(i)
	}
	inst := &f.cols[f.instCol]
	rank := make([]int32, len(inst.dictVals))
	order := make([]int32, len(inst.dictVals))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int { return strings.Compare(inst.dictVals[a], inst.dictVals[b]) })
	for r, i := range order {
		rank[i] = int32(r)
	}
	ts, seq := f.cols[f.tsCol].ints, f.cols[f.seqCol].ints
	slices.SortFunc(perm, func(a, b int32) int {
		if c := cmp.Compare(rank[inst.idx[a]], rank[inst.idx[b]]); c != 0 {
			return c
		}
		if c := cmp.Compare(ts[a], ts[b]); c != 0 {
			return c
		}
		return cmp.Compare(uint64(seq[a]), uint64(seq[b]))
	})
	return perm
}

// record builds an Arrow record of the rows perm (in that order). The arrays point at Go memory.
func (f *fileBuf) record(sc *arrow.Schema, perm []int32) arrow.RecordBatch {
	arrs := make([]arrow.Array, len(f.cols))
	for i := range f.cols {
		arrs[i] = f.cols[i].array(sc.Field(i).Type, perm)
	}
	rec := array.NewRecordBatch(sc, arrs, int64(len(perm)))
	for _, a := range arrs {
		a.Release()
	}
	return rec
}

func bufOf[T int64 | float64 | int32](v []T) *memory.Buffer {
	switch x := any(v).(type) {
	case []int64:
		return memory.NewBufferBytes(arrow.Int64Traits.CastToBytes(x))
	case []float64:
		return memory.NewBufferBytes(arrow.Float64Traits.CastToBytes(x))
	case []int32:
		return memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(x))
	}
	panic("unreachable")
}

func (c *colBuf) array(typ arrow.DataType, perm []int32) arrow.Array {
	n := len(perm)
	var data arrow.ArrayData
	switch c.typ {
	case schema.Int64, schema.TimeMs, schema.TimeNs:
		v := grow(c.sInts, n)
		c.sInts = v
		for i, p := range perm {
			v[i] = c.ints[p]
		}
		data = array.NewData(typ, n, []*memory.Buffer{nil, bufOf(v)}, nil, 0, 0)
	case schema.Float64:
		v := grow(c.sFloats, n)
		c.sFloats = v
		for i, p := range perm {
			v[i] = c.floats[p]
		}
		data = array.NewData(typ, n, []*memory.Buffer{nil, bufOf(v)}, nil, 0, 0)
	case schema.Bool:
		bits := grow(c.sBytes, int(bitutil.BytesForBits(int64(n))))
		clear(bits)
		c.sBytes = bits
		for i, p := range perm {
			if c.bools[p] {
				bitutil.SetBit(bits, i)
			}
		}
		data = array.NewData(typ, n, []*memory.Buffer{nil, memory.NewBufferBytes(bits)}, nil, 0, 0)
	case schema.String:
		offs := grow(c.sOffs, n+1)
		c.sOffs = offs
		offs[0] = 0
		b := c.sBytes[:0]
		for i, p := range perm {
			if c.dict {
				b = append(b, c.dictVals[c.idx[p]]...)
			} else {
				b = append(b, c.data[c.end(int(p)-1):c.offs[p]]...)
			}
			offs[i+1] = int32(len(b))
		}
		c.sBytes = b
		data = array.NewData(typ, n, []*memory.Buffer{nil, bufOf(offs), memory.NewBufferBytes(b)}, nil, 0, 0)
	case schema.Float64List, schema.Int64List:
		offs := grow(c.sOffs, n+1)
		c.sOffs = offs
		offs[0] = 0
		fv, iv := c.sFloats[:0], c.sInts[:0]
		for i, p := range perm {
			lo, hi := c.end(int(p)-1), int(c.offs[p])
			if c.typ == schema.Float64List {
				fv = append(fv, c.floats[lo:hi]...)
				offs[i+1] = int32(len(fv))
			} else {
				iv = append(iv, c.ints[lo:hi]...)
				offs[i+1] = int32(len(iv))
			}
		}
		c.sFloats, c.sInts = fv, iv
		lt := typ.(*arrow.ListType)
		var child arrow.ArrayData
		if c.typ == schema.Float64List {
			child = array.NewData(lt.Elem(), len(fv), []*memory.Buffer{nil, bufOf(fv)}, nil, 0, 0)
		} else {
			child = array.NewData(lt.Elem(), len(iv), []*memory.Buffer{nil, bufOf(iv)}, nil, 0, 0)
		}
		data = array.NewData(typ, n, []*memory.Buffer{nil, bufOf(offs)}, []arrow.ArrayData{child}, 0, 0)
		child.Release()
	default:
		panic("store: unknown column type " + c.typ.String())
	}
	a := array.MakeFromData(data)
	data.Release()
	return a
}
