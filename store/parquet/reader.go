package parquet

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"path/filepath"
	"sync"
	"time"

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

// poolAllocator is a memory.Allocator that recycles the page and column buffers the Parquet reader frees
// (by power-of-two size class), instead of making the runtime zero fresh memory for every page. With dirty
// set, recycled buffers are not zeroed: for readers whose buffers are always overwritten before they are
// read (the column chunk readers' page and decompression buffers), not for Arrow array builders.
type poolAllocator struct {
	pools [40]sync.Pool
	dirty bool
}

const minPooled = 4 << 10

var (
	readerAlloc = &poolAllocator{}            // pqarrow (ArrowReadAll)
	pageAlloc   = &poolAllocator{dirty: true} // the column decoder's pages (colread.go)
)

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
		if !p.dirty {
			clear(b)
		}
		return b
	}
	return make([]byte, size, 1<<c)
}

func (p *poolAllocator) Reallocate(size int, b []byte) []byte {
	if size <= cap(b) {
		old := len(b)
		b = b[:size]
		if size > old && !p.dirty {
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
