package parquet

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/okxtape/okxtape/schema"
)

// chunkShift sets the chunk size of column storage: 1<<chunkShift elements per chunk.
const chunkShift = 15

// chunked is an append-only sequence kept in fixed-size chunks. Appending never copies what is stored: a
// doubling slice would copy tens of MiB at once in the dispatcher, and such a memmove cannot be preempted,
// so a GC stop-the-world waits for it while every other goroutine (ingest included) is already stopped.
// Chunks are kept across reset and reused by the next file.
type chunked[T any] struct {
	chunks [][]T // each of length 1<<chunkShift
	n      int
}

func (c *chunked[T]) len() int { return c.n }

func (c *chunked[T]) at(i int) T { return c.chunks[i>>chunkShift][i&(1<<chunkShift-1)] }

func (c *chunked[T]) push(v T) {
	ci := c.n >> chunkShift
	if ci == len(c.chunks) {
		c.chunks = append(c.chunks, make([]T, 1<<chunkShift))
	}
	c.chunks[ci][c.n&(1<<chunkShift-1)] = v
	c.n++
}

func (c *chunked[T]) pushAll(v []T) {
	for len(v) > 0 {
		ci, off := c.n>>chunkShift, c.n&(1<<chunkShift-1)
		if ci == len(c.chunks) {
			c.chunks = append(c.chunks, make([]T, 1<<chunkShift))
		}
		k := copy(c.chunks[ci][off:], v)
		c.n += k
		v = v[k:]
	}
}

// appendRange appends elements lo..hi-1 to dst.
func (c *chunked[T]) appendRange(dst []T, lo, hi int) []T {
	for lo < hi {
		ci, off := lo>>chunkShift, lo&(1<<chunkShift-1)
		k := min(hi-lo, 1<<chunkShift-off)
		dst = append(dst, c.chunks[ci][off:off+k]...)
		lo += k
	}
	return dst
}

func (c *chunked[T]) truncate(n int) { c.n = min(n, c.n) }

// reset empties the sequence; it keeps at most keep chunks for reuse.
func (c *chunked[T]) reset(keep int) {
	c.n = 0
	if len(c.chunks) > keep {
		clear(c.chunks[keep:])
		c.chunks = c.chunks[:keep]
	}
}

// capBytes returns the memory held by the chunks.
func (c *chunked[T]) capBytes(elem int) int { return len(c.chunks) << chunkShift * elem }

// colBuf is one column of an open Parquet file, kept as typed, chunked Go values. Offsets are end offsets
// (row i spans offs[i-1]..offs[i], with offs[-1] = 0).
type colBuf struct {
	typ  schema.Type
	dict bool

	ints   chunked[int64]   // Int64, TimeMs, TimeNs; Int64List values
	floats chunked[float64] // Float64; Float64List values
	bools  chunked[bool]
	offs   chunked[int32] // plain strings (into data) and lists (into ints/floats)
	data   chunked[byte]

	dictIdx  map[string]int32 // dictionary strings: value -> index into dictVals
	dictVals []string
	idx      chunked[int32]

	// scratch for gathering a row group in sorted order, reused between the row groups of a file
	sInts   []int64
	sFloats []float64
	sOffs   []int32
	sBytes  []byte
}

// reset empties the column, keeping up to keep chunks of each sequence for the next file.
func (c *colBuf) reset(keep int) {
	c.ints.reset(keep)
	c.floats.reset(keep)
	c.bools.reset(keep)
	c.offs.reset(keep)
	c.data.reset(keep)
	c.idx.reset(keep)
	c.dictVals = c.dictVals[:0]
	if c.dictIdx != nil {
		clear(c.dictIdx)
	}
}

// capBytes returns the memory the column holds (chunks and scratch).
func (c *colBuf) capBytes() int {
	return c.ints.capBytes(8) + c.floats.capBytes(8) + c.bools.capBytes(1) + c.offs.capBytes(4) +
		c.data.capBytes(1) + c.idx.capBytes(4) + 8*cap(c.sInts) + 8*cap(c.sFloats) + 4*cap(c.sOffs) + cap(c.sBytes)
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

// reset empties the buffer for the next file of the same table, dropping the sorting scratch (as large as a
// row group, needed only while a file is written). It keeps the chunks for reuse unless release is set.
func (f *fileBuf) reset(release bool) {
	keep := 1 << 30
	if release {
		keep = 0
	}
	for i := range f.cols {
		c := &f.cols[i]
		c.reset(keep)
		c.sInts, c.sFloats, c.sOffs, c.sBytes = nil, nil, nil, nil
	}
	f.rows, f.bytes, f.col, f.err = 0, 0, 0, nil
}

// capBytes returns the memory the buffer holds.
func (f *fileBuf) capBytes() int {
	n := 0
	for i := range f.cols {
		n += f.cols[i].capBytes()
	}
	return n
}

// add appends one event's row; a row that does not match the column types is rolled back.
func (f *fileBuf) add(e schema.Stored) error {
	f.col, f.err = 0, nil
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
		c.ints.push(v)
		f.bytes += 8
	}
}

func (f *fileBuf) Float64(v float64) {
	if c := f.next(f.col < len(f.cols) && f.cols[f.col].typ == schema.Float64); c != nil {
		c.floats.push(v)
		f.bytes += 8
	}
}

func (f *fileBuf) Bool(v bool) {
	if c := f.next(f.col < len(f.cols) && f.cols[f.col].typ == schema.Bool); c != nil {
		c.bools.push(v)
		f.bytes++
	}
}

func (f *fileBuf) String(v string) {
	c := f.next(f.col < len(f.cols) && f.cols[f.col].typ == schema.String)
	if c == nil {
		return
	}
	if !c.dict {
		c.data.pushAll(unsafe.Slice(unsafe.StringData(v), len(v)))
		c.offs.push(int32(c.data.len()))
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
	c.idx.push(i)
	f.bytes += 4
}

func (f *fileBuf) Float64s(v []float64) {
	if c := f.next(f.col < len(f.cols) && f.cols[f.col].typ == schema.Float64List); c != nil {
		c.floats.pushAll(v)
		c.offs.push(int32(c.floats.len()))
		f.bytes += 8*len(v) + 4
	}
}

func (f *fileBuf) Int64s(v []int64) {
	if c := f.next(f.col < len(f.cols) && f.cols[f.col].typ == schema.Int64List); c != nil {
		c.ints.pushAll(v)
		c.offs.push(int32(c.ints.len()))
		f.bytes += 8*len(v) + 4
	}
}

// truncate drops rows from n on (rolls back a partly written row).
func (f *fileBuf) truncate(n int) {
	for i := range f.cols {
		c := &f.cols[i]
		switch c.typ {
		case schema.Int64, schema.TimeMs, schema.TimeNs:
			c.ints.truncate(n)
		case schema.Float64:
			c.floats.truncate(n)
		case schema.Bool:
			c.bools.truncate(n)
		case schema.String:
			if c.dict {
				c.idx.truncate(n)
			} else {
				c.offs.truncate(n)
				c.data.truncate(c.end(n - 1))
			}
		case schema.Float64List:
			c.offs.truncate(n)
			c.floats.truncate(c.end(n - 1))
		case schema.Int64List:
			c.offs.truncate(n)
			c.ints.truncate(c.end(n - 1))
		}
	}
}

// end returns the end offset of row i (0 before the first row).
func (c *colBuf) end(i int) int {
	if i < 0 || c.offs.len() == 0 {
		return 0
	}
	return int(c.offs.at(min(i, c.offs.len()-1)))
}

// sortKey is one row's sort key; sorting these contiguous keys is faster than comparing through the chunks.
type sortKey struct {
	ts   int64
	seq  uint64
	rank int32
	row  int32
}

// sortPerm returns the row order (inst_id, ts, seq).
func (f *fileBuf) sortPerm() []int32 {
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
	ts, seq := &f.cols[f.tsCol].ints, &f.cols[f.seqCol].ints
	keys := make([]sortKey, f.rows)
	for i := range keys {
		keys[i] = sortKey{ts: ts.at(i), seq: uint64(seq.at(i)), rank: rank[inst.idx.at(i)], row: int32(i)}
	}
	slices.SortFunc(keys, func(a, b sortKey) int {
		if c := cmp.Compare(a.rank, b.rank); c != 0 {
			return c
		}
		if c := cmp.Compare(a.ts, b.ts); c != 0 {
			return c
		}
		return cmp.Compare(a.seq, b.seq)
	})
	perm := make([]int32, f.rows)
	for i, k := range keys {
		perm[i] = k.row
	}
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

// reserve returns s emptied with room for n elements, allocating once (never growing by append-copy).
func reserve[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, 0, n)
	}
	return s[:0]
}

func (c *colBuf) array(typ arrow.DataType, perm []int32) arrow.Array {
	n := len(perm)
	var data arrow.ArrayData
	switch c.typ {
	case schema.Int64, schema.TimeMs, schema.TimeNs:
		v := grow(c.sInts, n)
		c.sInts = v
		for i, p := range perm {
			v[i] = c.ints.at(int(p))
		}
		data = array.NewData(typ, n, []*memory.Buffer{nil, bufOf(v)}, nil, 0, 0)
	case schema.Float64:
		v := grow(c.sFloats, n)
		c.sFloats = v
		for i, p := range perm {
			v[i] = c.floats.at(int(p))
		}
		data = array.NewData(typ, n, []*memory.Buffer{nil, bufOf(v)}, nil, 0, 0)
	case schema.Bool:
		bits := grow(c.sBytes, int(bitutil.BytesForBits(int64(n))))
		clear(bits)
		c.sBytes = bits
		for i, p := range perm {
			if c.bools.at(int(p)) {
				bitutil.SetBit(bits, i)
			}
		}
		data = array.NewData(typ, n, []*memory.Buffer{nil, memory.NewBufferBytes(bits)}, nil, 0, 0)
	case schema.String:
		offs := grow(c.sOffs, n+1)
		c.sOffs = offs
		offs[0] = 0
		total := 0
		for _, p := range perm {
			if c.dict {
				total += len(c.dictVals[c.idx.at(int(p))])
			} else {
				total += int(c.offs.at(int(p))) - c.end(int(p)-1)
			}
		}
		b := reserve(c.sBytes, total)
		for i, p := range perm {
			if c.dict {
				b = append(b, c.dictVals[c.idx.at(int(p))]...)
			} else {
				b = c.data.appendRange(b, c.end(int(p)-1), int(c.offs.at(int(p))))
			}
			offs[i+1] = int32(len(b))
		}
		c.sBytes = b
		data = array.NewData(typ, n, []*memory.Buffer{nil, bufOf(offs), memory.NewBufferBytes(b)}, nil, 0, 0)
	case schema.Float64List, schema.Int64List:
		offs := grow(c.sOffs, n+1)
		c.sOffs = offs
		offs[0] = 0
		total := 0
		for _, p := range perm {
			total += int(c.offs.at(int(p))) - c.end(int(p)-1)
		}
		var fv []float64
		var iv []int64
		if c.typ == schema.Float64List {
			fv = reserve(c.sFloats, total)
		} else {
			iv = reserve(c.sInts, total)
		}
		for i, p := range perm {
			lo, hi := c.end(int(p)-1), int(c.offs.at(int(p)))
			if c.typ == schema.Float64List {
				fv = c.floats.appendRange(fv, lo, hi)
				offs[i+1] = int32(len(fv))
			} else {
				iv = c.ints.appendRange(iv, lo, hi)
				offs[i+1] = int32(len(iv))
			}
		}
		if c.typ == schema.Float64List {
			c.sFloats = fv
		} else {
			c.sInts = iv
		}
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
