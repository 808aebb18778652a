package parquet

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unsafe"

	"github.com/okxtape/okxtape/schema"
)

// colBuf is one column of a row buffer, kept as typed Go values in plain slices that are reused from one row
// group to the next. Offsets are end offsets (row i spans offs[i-1]..offs[i], with offs[-1] = 0).
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
}

// reset empties the column, keeping its memory.
func (c *colBuf) reset() {
	c.ints, c.floats, c.bools, c.offs, c.data, c.idx = c.ints[:0], c.floats[:0], c.bools[:0], c.offs[:0], c.data[:0], c.idx[:0]
	c.dictVals = c.dictVals[:0]
	if c.dictIdx != nil {
		clear(c.dictIdx)
	}
}

// capBytes returns the memory the column holds.
func (c *colBuf) capBytes() int {
	return 8*(cap(c.ints)+cap(c.floats)) + cap(c.bools) + 4*(cap(c.offs)+cap(c.idx)) + cap(c.data)
}

// end returns the end offset of row i (0 before the first row).
func (c *colBuf) end(i int) int {
	if i < 0 || len(c.offs) == 0 {
		return 0
	}
	return int(c.offs[min(i, len(c.offs)-1)])
}

// str returns row i of a string column (pointing into the buffer).
func (c *colBuf) str(i int) string {
	if c.dict {
		return c.dictVals[c.idx[i]]
	}
	lo, hi := c.end(i-1), int(c.offs[i])
	return unsafe.String(unsafe.SliceData(c.data[lo:hi]), hi-lo)
}

var errColumnType = errors.New("row does not match the table's column types")

// rowBuf buffers rows of one table: one instrument's rows waiting for their row group, or the rows of a row
// group being assembled. It implements schema.RowWriter: WriteRow appends one value to each column in turn.
type rowBuf struct {
	t     *schema.Table
	cols  []colBuf
	col   int
	rows  int
	bytes int // approximate in-memory size of the rows
	err   error
	// sorted reports whether the rows are in (ts, seq) order as added (the usual case: then a row group is
	// written straight from the buffer, without sorting or copying).
	sorted bool

	seqCol, instCol, tsCol int
}

func newRowBuf(t *schema.Table) *rowBuf {
	b := &rowBuf{t: t, cols: make([]colBuf, len(t.Columns)), sorted: true,
		seqCol: t.Index("seq"), instCol: t.Index("inst_id"), tsCol: t.Index("ts")}
	for i, c := range t.Columns {
		b.cols[i] = colBuf{typ: c.Type, dict: c.Dict && c.Type == schema.String}
		if b.cols[i].dict {
			b.cols[i].dictIdx = map[string]int32{}
		}
	}
	return b
}

// reset empties the buffer, keeping its memory.
func (b *rowBuf) reset() {
	for i := range b.cols {
		b.cols[i].reset()
	}
	b.rows, b.bytes, b.col, b.err, b.sorted = 0, 0, 0, nil, true
}

// capBytes returns the memory the buffer holds.
func (b *rowBuf) capBytes() int {
	n := 0
	for i := range b.cols {
		n += b.cols[i].capBytes()
	}
	return n
}

func (b *rowBuf) ts(i int) int64  { return b.cols[b.tsCol].ints[i] }
func (b *rowBuf) seq(i int) int64 { return b.cols[b.seqCol].ints[i] }

// add appends one event's row; a row that does not match the column types is rolled back.
func (b *rowBuf) add(e schema.Stored) error {
	b.col, b.err = 0, nil
	before := b.bytes
	e.WriteRow(b)
	if b.err == nil && b.col != len(b.cols) {
		b.err = errColumnType
	}
	if b.err != nil {
		b.truncate(b.rows)
		b.bytes = before
		return fmt.Errorf("parquet: %s row seq %d: %w", b.t.Name, e.Hdr().Seq, b.err)
	}
	if n := b.rows; n > 0 && b.sorted {
		if t, pt := b.ts(n), b.ts(n-1); t < pt || t == pt && b.seq(n) < b.seq(n-1) {
			b.sorted = false
		}
	}
	b.rows++
	return nil
}

func (b *rowBuf) next(ok bool) *colBuf {
	if b.col >= len(b.cols) || !ok {
		b.err = errColumnType
		return nil
	}
	c := &b.cols[b.col]
	b.col++
	return c
}

func (b *rowBuf) is(t schema.Type) bool { return b.col < len(b.cols) && b.cols[b.col].typ == t }

func (b *rowBuf) Int64(v int64) {
	if c := b.next(b.is(schema.Int64) || b.is(schema.TimeMs) || b.is(schema.TimeNs)); c != nil {
		c.ints = append(c.ints, v)
		b.bytes += 8
	}
}

func (b *rowBuf) Float64(v float64) {
	if c := b.next(b.is(schema.Float64)); c != nil {
		c.floats = append(c.floats, v)
		b.bytes += 8
	}
}

func (b *rowBuf) Bool(v bool) {
	if c := b.next(b.is(schema.Bool)); c != nil {
		c.bools = append(c.bools, v)
		b.bytes++
	}
}

func (b *rowBuf) String(v string) {
	if c := b.next(b.is(schema.String)); c != nil {
		b.bytes += c.putStr(v)
	}
}

// putStr appends a string value and returns the bytes it added.
func (c *colBuf) putStr(v string) int {
	if !c.dict {
		c.data = append(c.data, v...)
		c.offs = append(c.offs, int32(len(c.data)))
		return len(v) + 4
	}
	if k := len(c.idx); k > 0 && c.dictVals[c.idx[k-1]] == v { // mostly runs of one value (an instrument's buffer)
		c.idx = append(c.idx, c.idx[k-1])
		return 4
	}
	n := 4
	i, ok := c.dictIdx[v]
	if !ok {
		i = int32(len(c.dictVals))
		v = strings.Clone(v)
		c.dictIdx[v] = i
		c.dictVals = append(c.dictVals, v)
		n += len(v) + 16
	}
	c.idx = append(c.idx, i)
	return n
}

func (b *rowBuf) Float64s(v []float64) {
	if c := b.next(b.is(schema.Float64List)); c != nil {
		c.floats = append(c.floats, v...)
		c.offs = append(c.offs, int32(len(c.floats)))
		b.bytes += 8*len(v) + 4
	}
}

func (b *rowBuf) Int64s(v []int64) {
	if c := b.next(b.is(schema.Int64List)); c != nil {
		c.ints = append(c.ints, v...)
		c.offs = append(c.offs, int32(len(c.ints)))
		b.bytes += 8*len(v) + 4
	}
}

// truncate drops rows from n on (rolls back a partly written row).
func (b *rowBuf) truncate(n int) {
	for i := range b.cols {
		c := &b.cols[i]
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
				c.data = c.data[:c.end(n-1)]
				c.offs = c.offs[:min(n, len(c.offs))]
			}
		case schema.Float64List:
			c.floats = c.floats[:c.end(n-1)]
			c.offs = c.offs[:min(n, len(c.offs))]
		case schema.Int64List:
			c.ints = c.ints[:c.end(n-1)]
			c.offs = c.offs[:min(n, len(c.offs))]
		}
	}
}

// rowBytes is the approximate in-memory size of row i (the same measure as bytes).
func (b *rowBuf) rowBytes(i int) int {
	n := 0
	for k := range b.cols {
		c := &b.cols[k]
		switch c.typ {
		case schema.Int64, schema.TimeMs, schema.TimeNs, schema.Float64:
			n += 8
		case schema.Bool:
			n++
		case schema.String:
			if c.dict {
				n += 4
			} else {
				n += c.end(i) - c.end(i-1) + 4
			}
		case schema.Float64List, schema.Int64List:
			n += 8*(c.end(i)-c.end(i-1)) + 4
		}
	}
	return n
}

// appendRows appends rows of src (same table) to b: rows listed in perm when it is non-nil, else src's rows
// lo..hi-1. The caller sets sorted.
func (b *rowBuf) appendRows(src *rowBuf, perm []int32, lo, hi int) {
	n := hi - lo
	if perm != nil {
		n = len(perm)
	}
	row := func(k int) int {
		if perm != nil {
			return int(perm[k])
		}
		return lo + k
	}
	for ci := range b.cols {
		c, s := &b.cols[ci], &src.cols[ci]
		switch c.typ {
		case schema.Int64, schema.TimeMs, schema.TimeNs:
			c.ints = appendSel(c.ints, s.ints, perm, lo, hi)
		case schema.Float64:
			c.floats = appendSel(c.floats, s.floats, perm, lo, hi)
		case schema.Bool:
			c.bools = appendSel(c.bools, s.bools, perm, lo, hi)
		case schema.String:
			for k := range n {
				c.putStr(s.str(row(k)))
			}
		case schema.Float64List:
			for k := range n {
				c.floats = appendList(c, c.floats, s, s.floats, row(k))
			}
		case schema.Int64List:
			for k := range n {
				c.ints = appendList(c, c.ints, s, s.ints, row(k))
			}
		}
	}
	for k := range n {
		b.bytes += src.rowBytes(row(k))
	}
	b.rows += n
}

// appendSel appends src[lo:hi], or the elements of src listed in perm when it is non-nil, to dst.
func appendSel[T any](dst, src []T, perm []int32, lo, hi int) []T {
	if perm == nil {
		return append(dst, src[lo:hi]...)
	}
	for _, p := range perm {
		dst = append(dst, src[p])
	}
	return dst
}

// appendList appends row r's list of column s (its elements in vals) to column c (its elements in dst) and
// records the row's end offset in c.
func appendList[T any](c *colBuf, dst []T, s *colBuf, vals []T, r int) []T {
	dst = append(dst, vals[s.end(r-1):s.end(r)]...)
	c.offs = append(c.offs, int32(len(dst)))
	return dst
}

// dropFront removes the first k rows, keeping the buffer's memory.
func (b *rowBuf) dropFront(k int) {
	if k <= 0 {
		return
	}
	if k >= b.rows {
		b.reset()
		return
	}
	gone := 0
	for i := 0; i < k; i++ {
		gone += b.rowBytes(i)
	}
	for ci := range b.cols {
		c := &b.cols[ci]
		switch c.typ {
		case schema.Int64, schema.TimeMs, schema.TimeNs:
			c.ints = c.ints[:copy(c.ints, c.ints[k:])]
		case schema.Float64:
			c.floats = c.floats[:copy(c.floats, c.floats[k:])]
		case schema.Bool:
			c.bools = c.bools[:copy(c.bools, c.bools[k:])]
		case schema.String, schema.Float64List, schema.Int64List:
			if c.dict {
				c.idx = c.idx[:copy(c.idx, c.idx[k:])]
				continue
			}
			base := c.end(k - 1)
			switch c.typ {
			case schema.String:
				c.data = c.data[:copy(c.data, c.data[base:])]
			case schema.Float64List:
				c.floats = c.floats[:copy(c.floats, c.floats[base:])]
			default:
				c.ints = c.ints[:copy(c.ints, c.ints[base:])]
			}
			c.offs = c.offs[:copy(c.offs, c.offs[k:])]
			for i := range c.offs {
				c.offs[i] -= int32(base)
			}
		}
	}
	b.rows -= k
	b.bytes -= gone
}

// sortKey is one row's sort key; sorting these contiguous keys is faster than comparing through columns.
type sortKey struct {
	ts   int64
	seq  int64
	rank int32
	row  int32
}

// sortPerm returns the row order (inst_id, ts, seq) of the buffer in perm; keys and perm are reused.
func (b *rowBuf) sortPerm(keys []sortKey, perm []int32) ([]sortKey, []int32) {
	inst := &b.cols[b.instCol]
	rank := make([]int32, len(inst.dictVals))
	if len(rank) > 1 {
		order := make([]int32, len(inst.dictVals))
		for i := range order {
			order[i] = int32(i)
		}
		slices.SortFunc(order, func(x, y int32) int { return strings.Compare(inst.dictVals[x], inst.dictVals[y]) })
		for r, i := range order {
			rank[i] = int32(r)
		}
	}
	keys = slices.Grow(keys[:0], b.rows)[:b.rows]
	ts, seq := b.cols[b.tsCol].ints, b.cols[b.seqCol].ints
	for i := range keys {
		keys[i] = sortKey{ts: ts[i], seq: seq[i], rank: rank[inst.idx[i]], row: int32(i)}
	}
	slices.SortFunc(keys, func(x, y sortKey) int {
		if c := cmp.Compare(x.rank, y.rank); c != 0 {
			return c
		}
		if c := cmp.Compare(x.ts, y.ts); c != 0 {
			return c
		}
		return cmp.Compare(x.seq, y.seq)
	})
	perm = slices.Grow(perm[:0], b.rows)[:b.rows]
	for i, k := range keys {
		perm[i] = k.row
	}
	return keys, perm
}
