package parquet

import (
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"
	pqschema "github.com/apache/arrow-go/v18/parquet/schema"

	"github.com/okxtape/okxtape/schema"
)

// Column decoding without Arrow: each table column is read from its column chunk a batch of rows at a time,
// by the page decoders of this package (intpages.go, dictstr.go, listpages.go over chunkpages.go's pages)
// when the chunk's encodings are ones they know, which are the ones okxtape writes, else by arrow-go's typed
// column chunk readers (ReadBatch into reused buffers, definition and repetition levels turned into list
// offsets here). Every buffer is reused across batches and row groups, so reading allocates nothing per row
// once the buffers have grown.

// maxConstLen bounds the strings taken from statistics (longer ones could be truncated by a writer).
const maxConstLen = 64

// levelChunk is how many levels a list column decodes per ReadBatch call (a variable for tests).
var levelChunk = 1024

// colDec is one table column of the file: how it is stored and the rows of the current batch.
type colDec struct {
	kind   colKind
	name   string
	leaf   int   // leaf column index in the file
	maxDef int16 // 0: required, no levels
	elem   int16 // lists: the definition level at which an element exists
	scale  int64 // ints: multiply by it (timestamps stored in a coarser unit than the column's); 0 or 1: none

	i64 *file.Int64ColumnChunkReader
	f64 *file.Float64ColumnChunkReader
	bl  *file.BooleanColumnChunkReader
	ba  *file.ByteArrayColumnChunkReader
	// konst: the row group's statistics prove every row holds kval (a string column with min == max and no
	// nulls: inst_id in the by-instrument layout, channel in most files), so the chunk is not decoded.
	konst bool
	kval  string
	// fast: a required string, integer or double chunk, or a list chunk, read from its pages by sp
	// (dictstr.go), ip (intpages.go) or lp (listpages.go) instead of ba, i64 or f64.
	fast bool
	sp   strPages
	ip   intPages
	lp   listPages
	cp   chunkPages // the pages of sp, ip or lp; its buffers are kept from chunk to chunk

	// The batch: ints/floats/bools/strs hold one value per row (lists: the elements, offs the row bounds).
	ints   []int64
	floats []float64
	bools  []bool
	strs   []string
	offs   []int32

	defs, reps []int16 // levels of the last ReadBatch
	bas        []parquet.ByteArray
	intern     [8]string // recent strings (dictionary columns repeat a few values)
	next       int       // intern slot replaced next
	// Lists: levels decoded but not yet consumed (they belong to rows after the batch).
	lpos, llen int
	lvals      []int64   // int lists: the values ReadBatch decoded with those levels
	lfloats    []float64 // float lists: the same
	vpos, nv   int       // next of those values, and how many there are
	done       bool      // the column chunk is exhausted
}

// decoderSets keeps the decoders (their buffers) of closed readers for the next reader of the same table:
// a replay opens a reader per row group, and growing every buffer again for each would cost more than the
// decoding. At most maxFreeSets per table are kept.
var decoderSets = struct {
	sync.Mutex
	free map[*schema.Table][][]colDec
}{free: map[*schema.Table][][]colDec{}}

const maxFreeSets = 8

func getColDecs(t *schema.Table) []colDec {
	decoderSets.Lock()
	defer decoderSets.Unlock()
	if l := decoderSets.free[t]; len(l) > 0 {
		cols := l[len(l)-1]
		decoderSets.free[t] = l[:len(l)-1]
		return cols
	}
	return make([]colDec, len(t.Columns))
}

// putColDecs gives back the decoders of a closed reader (their column chunk readers already closed).
func putColDecs(t *schema.Table, cols []colDec) {
	if t == nil || len(cols) != len(t.Columns) {
		return
	}
	decoderSets.Lock()
	defer decoderSets.Unlock()
	if l := decoderSets.free[t]; len(l) < maxFreeSets {
		decoderSets.free[t] = append(l, cols)
	}
}

// newColDecs maps every column of t to its leaf in the file schema sch, in decoders reused from an earlier
// reader when there is one.
func newColDecs(t *schema.Table, sch *pqschema.Schema) ([]colDec, error) {
	cols := getColDecs(t)
	leaves := make([]int, len(t.Columns))
	for i := range leaves {
		leaves[i] = -1
	}
	for i := 0; i < sch.NumColumns(); i++ {
		root := sch.Column(i).ColumnPath()[0]
		ci := t.Index(root)
		if ci < 0 {
			continue
		}
		if leaves[ci] >= 0 {
			return nil, fmt.Errorf("column %q has more than one leaf: %w", root, ErrIncompatibleFile)
		}
		leaves[ci] = i
	}
	for ci, c := range t.Columns {
		if leaves[ci] < 0 {
			return nil, fmt.Errorf("no column %q of table %s: %w", c.Name, t.Name, ErrIncompatibleFile)
		}
		d := sch.Column(leaves[ci])
		k, scale := colKindOf(c.Type, d)
		if k == 0 {
			return nil, fmt.Errorf("column %q is %s, want %s: %w", c.Name, d, c.Type, ErrIncompatibleFile)
		}
		cd := &cols[ci]
		cd.kind, cd.name, cd.leaf, cd.maxDef, cd.scale, cd.elem = k, c.Name, leaves[ci], d.MaxDefinitionLevel(), scale, 0
		if k == ckFloatList || k == ckIntList {
			e, err := elemLevel(d)
			if err != nil {
				return nil, err
			}
			cols[ci].elem = e
		}
	}
	return cols, nil
}

// open starts reading the column chunk (metadata cc) of row group rg of the file src (closing the previous
// one).
func (c *colDec) open(rg *file.RowGroupReader, src chunkSource, cc *metadata.ColumnChunkMetaData) error {
	c.close()
	c.konst = false
	c.lpos, c.llen, c.vpos, c.nv, c.done = 0, 0, 0, 0, false
	if c.kind == ckString && c.maxDef == 0 {
		if lo, hi, ok := byteStatsOf(chunkStats(cc)); ok && lo == hi && len(lo) <= maxConstLen {
			c.konst, c.kval = true, c.internBytes([]byte(lo))
			return nil
		}
	}
	var fast bool
	switch c.kind {
	case ckString:
		fast = c.maxDef == 0 && fastStrings(cc)
	case ckInt, ckFloat:
		fast = c.maxDef == 0 && fastWords(cc, c.kind == ckFloat)
	case ckIntList, ckFloatList:
		fast = fastLists(cc, c.kind == ckFloatList)
	}
	if fast {
		if err := c.cp.open(rg, src, c.leaf, cc); err != nil {
			return fmt.Errorf("column %s: %w", c.name, err)
		}
		c.fast = true
		switch c.kind {
		case ckString:
			c.sp.reset(&c.cp)
		case ckInt, ckFloat:
			c.ip.reset(&c.cp, c.kind == ckFloat)
		default:
			c.lp.reset(&c.cp, c.kind == ckFloatList, 1, c.maxDef)
		}
		return nil
	}
	cr, err := rg.Column(c.leaf)
	if err != nil {
		return fmt.Errorf("column %s: %w", c.name, err)
	}
	var ok bool
	switch c.kind {
	case ckInt, ckIntList:
		c.i64, ok = cr.(*file.Int64ColumnChunkReader)
	case ckFloat, ckFloatList:
		c.f64, ok = cr.(*file.Float64ColumnChunkReader)
	case ckBool:
		c.bl, ok = cr.(*file.BooleanColumnChunkReader)
	case ckString:
		c.ba, ok = cr.(*file.ByteArrayColumnChunkReader)
	}
	if !ok {
		cr.Close()
		return fmt.Errorf("column %s: unexpected reader %T: %w", c.name, cr, ErrIncompatibleFile)
	}
	return nil
}

// close releases the column chunk reader (its page buffers go back to pageAlloc).
func (c *colDec) close() {
	var cr interface{ Close() error }
	switch {
	case c.i64 != nil:
		cr = c.i64
	case c.f64 != nil:
		cr = c.f64
	case c.bl != nil:
		cr = c.bl
	case c.ba != nil:
		cr = c.ba
	}
	if cr != nil {
		cr.Close()
	}
	if c.fast {
		c.cp.close()
		c.sp.reset(nil)
		c.lp.reset(nil, false, 0, 0)
		c.ip.reset(nil, false)
		c.fast = false
	}
	c.i64, c.f64, c.bl, c.ba = nil, nil, nil, nil
}

// read decodes the next n rows of the column chunk into the batch buffers. Fewer than n rows is an error
// (the caller asks for no more rows than the row group holds).
func (c *colDec) read(n int) error {
	var got int
	var err error
	switch c.kind {
	case ckInt:
		c.ints = growTo(c.ints, n)
		if c.fast {
			got, err = c.ip.read(c.ints)
		} else {
			got, err = readFlat(c, n, c.i64.ReadBatch, c.ints, 0)
		}
		if s := c.scale; s > 1 {
			for i := range c.ints[:got] {
				c.ints[i] *= s
			}
		}
	case ckFloat:
		c.floats = growTo(c.floats, n)
		if c.fast {
			got, err = c.ip.read(doubleBits(c.floats))
		} else {
			got, err = readFlat(c, n, c.f64.ReadBatch, c.floats, nan)
		}
	case ckBool:
		c.bools = growTo(c.bools, n)
		got, err = readFlat(c, n, c.bl.ReadBatch, c.bools, false)
	case ckString:
		if c.konst {
			c.strs = growTo(c.strs, n)
			for i := range c.strs {
				c.strs[i] = c.kval
			}
			return nil
		}
		if c.fast {
			c.strs = growTo(c.strs, n)
			got, err = c.sp.read(c, c.strs)
			break
		}
		got, err = c.readStrings(n)
	case ckIntList:
		rb := batchFn[int64](c.lp.batch)
		if !c.fast {
			rb = c.i64.ReadBatch
		}
		got, err = readList(c, n, rb, &c.lvals, &c.ints, 0)
	case ckFloatList:
		rb := batchFn[float64](c.lp.batchFloats)
		if !c.fast {
			rb = c.f64.ReadBatch
		}
		got, err = readList(c, n, rb, &c.lfloats, &c.floats, nan)
	}
	if err == nil && got != n {
		err = fmt.Errorf("%d rows, want %d", got, n)
	}
	if err != nil {
		return fmt.Errorf("column %s: %w", c.name, err)
	}
	return nil
}

var nan = math.NaN()

func growTo[T any](b []T, n int) []T {
	if cap(b) < n {
		return make([]T, n)
	}
	return b[:n]
}

type batchFn[T any] func(batchSize int64, values []T, defLvls, repLvls []int16) (int64, int, error)

// readFlat reads n rows of a non-repeated column into out; null rows (optional columns) get null.
func readFlat[T any](c *colDec, n int, rb batchFn[T], out []T, null T) (int, error) {
	var defs []int16
	if c.maxDef > 0 {
		c.defs = growTo(c.defs, n)
		defs = c.defs
	}
	rows := 0
	for rows < n {
		var d []int16
		if defs != nil {
			d = defs[rows:]
		}
		lv, vals, err := rb(int64(n-rows), out[rows:], d, nil)
		if err != nil {
			return rows, err
		}
		if lv == 0 {
			break
		}
		if defs != nil && int(lv) != vals { // spread the dense values over their rows, back to front
			k := rows + vals
			for i := rows + int(lv) - 1; i >= rows; i-- {
				if d[i-rows] == c.maxDef {
					k--
					out[i] = out[k]
				} else {
					out[i] = null
				}
			}
		}
		rows += int(lv)
	}
	return rows, nil
}

// readStrings reads n rows of a string column as strings, shared between equal values of recent rows.
func (c *colDec) readStrings(n int) (int, error) {
	c.strs = growTo(c.strs, n)
	c.bas = growTo(c.bas, n)
	var defs []int16
	if c.maxDef > 0 {
		c.defs = growTo(c.defs, n)
		defs = c.defs
	}
	rows := 0
	for rows < n {
		var d []int16
		if defs != nil {
			d = defs[:n-rows]
		}
		// In page: the values point into the page, so they are interned before the next read.
		lv, vals, err := c.ba.ReadBatchInPage(int64(n-rows), c.bas[:n-rows], d, nil)
		if err != nil {
			return rows, err
		}
		if lv == 0 {
			break
		}
		k := 0
		for i := 0; i < int(lv); i++ {
			if d != nil && d[i] != c.maxDef {
				c.strs[rows+i] = ""
				continue
			}
			if k >= vals {
				return rows, fmt.Errorf("%d values for %d levels", vals, lv)
			}
			c.strs[rows+i] = c.internBytes(c.bas[k])
			k++
		}
		rows += int(lv)
	}
	return rows, nil
}

func (c *colDec) internBytes(b []byte) string {
	for i := range c.intern {
		if c.intern[i] == string(b) {
			return c.intern[i]
		}
	}
	s := string(b)
	c.intern[c.next] = s
	c.next = (c.next + 1) % len(c.intern)
	return s
}

// readList reads n rows of a list column: the rows' elements into *out and their bounds into c.offs
// (n+1 offsets). Levels are decoded levelChunk at a time into buf/c.defs/c.reps; those past the n-th row
// stay buffered for the next batch. A null element (an optional element type) reads as null.
func readList[T any](c *colDec, n int, rb batchFn[T], buf *[]T, out *[]T, null T) (int, error) {
	if len(c.defs) < levelChunk {
		c.defs, c.reps = make([]int16, levelChunk), make([]int16, levelChunk)
	}
	if len(*buf) < levelChunk {
		*buf = make([]T, levelChunk)
	}
	c.offs = c.offs[:0]
	vals := (*out)[:0]
	rows := 0
	for {
		if c.elem == c.maxDef && c.lpos < c.llen { // no null elements: the values are the levels' in order
			var err error
			if vals, rows, err = takeRows(c, n, rows, *buf, vals); err != nil {
				return rows, err
			}
		}
		for ; c.lpos < c.llen; c.lpos++ {
			def := c.defs[c.lpos]
			if c.reps[c.lpos] == 0 { // a new row starts
				if rows == n {
					c.offs = append(c.offs, int32(len(vals)))
					*out = vals
					return rows, nil
				}
				c.offs = append(c.offs, int32(len(vals)))
				rows++
			} else if rows == 0 {
				return 0, fmt.Errorf("repetition level %d at the start of a row", c.reps[c.lpos])
			}
			switch {
			case def == c.maxDef:
				if c.vpos >= c.nv {
					return rows, fmt.Errorf("more levels than values")
				}
				vals = append(vals, (*buf)[c.vpos])
				c.vpos++
			case def >= c.elem:
				vals = append(vals, null)
			}
		}
		if c.done {
			break
		}
		lv, nv, err := rb(int64(levelChunk), (*buf)[:levelChunk], c.defs[:levelChunk], c.reps[:levelChunk])
		if err != nil {
			return rows, err
		}
		if lv == 0 {
			c.done = true
			break
		}
		if nv > int(lv) {
			return rows, fmt.Errorf("%d values for %d levels", nv, lv)
		}
		c.lpos, c.llen, c.vpos, c.nv = 0, int(lv), 0, nv
	}
	c.offs = append(c.offs, int32(len(vals)))
	*out = vals
	return rows, nil
}

// takeRows is readList's loop over buffered levels for a list whose elements cannot be null: it scans the
// levels for row starts, up to the start of row n+1, and appends their values to vals at once.
func takeRows[T any](c *colDec, n, rows int, buf, vals []T) ([]T, int, error) {
	if rows == 0 && c.reps[c.lpos] != 0 {
		return vals, rows, fmt.Errorf("repetition level %d at the start of a row", c.reps[c.lpos])
	}
	v0, k := c.vpos, c.vpos
	base := len(vals) - v0
	i := c.lpos
	defs, reps := c.defs[:c.llen], c.reps[:c.llen]
	if c.nv == c.llen { // every level holds a value: value k is level k, only the row starts to find
		// Without a branch per level: each level's offset is written at offs[m], and m moves past it
		// only at a row start; the loop stops before the start of row n+1.
		m0 := len(c.offs)
		offs := slices.Grow(c.offs, len(reps)-i)[:m0+len(reps)-i]
		m, lim := m0, m0+n-rows
		for ; i < len(reps); i++ {
			z := 0
			if reps[i] == 0 {
				z = 1
			}
			if m+z > lim {
				break
			}
			offs[m] = int32(base + i)
			m += z
		}
		c.offs, rows = offs[:m], rows+m-m0
		c.lpos, c.vpos = i, i
		return append(vals, buf[v0:i]...), rows, nil
	}
	for ; i < len(defs); i++ {
		if reps[i] == 0 {
			if rows == n {
				break
			}
			c.offs = append(c.offs, int32(base+k))
			rows++
		}
		if defs[i] == c.maxDef {
			k++
		}
	}
	if k > c.nv {
		return vals, rows, fmt.Errorf("more levels than values")
	}
	c.lpos, c.vpos = i, k
	return append(vals, buf[v0:k]...), rows, nil
}
