package replay

import (
	"context"
	"fmt"
	"sync"

	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/store/parquet"
)

// sliceRows is about how many rows one slice of a streamed row group holds (a variable for tests).
var sliceRows = parquet.SliceRows

// slicedParts cuts row group g of path (one instrument, by-instrument layout) into parts of about sliceRows
// rows, cut only where every earlier row of the row group arrived before every later one, so the parts keep
// the arrival order part by part. Their ts bounds come from one read of the ts and seq columns. The parts
// share one reader that streams the row group (see groupStream), so memory holds a slice per instrument and
// dataset instead of a row group.
func slicedParts(ft *parquet.Footer, g parquet.GroupStats) ([]Part, error) {
	path := ft.Path
	sl := g.Slices
	if sl == nil { // written without slices (or by a version that did not record them): cut them here
		ts, seq, err := parquet.TsSeqOf(ft, g.Index)
		if err != nil {
			return nil, err
		}
		if int64(len(ts)) != g.Rows {
			return nil, fmt.Errorf("row group %d: %d ts values for %d rows", g.Index, len(ts), g.Rows)
		}
		sl = parquet.SliceCuts(ts, seq, sliceRows)
	}
	gs := &groupStream{ft: ft, rg: g.Index}
	parts := make([]Part, len(sl))
	lo := 0
	for k, x := range sl {
		first, rows, last := lo, x.End-lo, k == len(sl)-1
		parts[k] = readPart(Part{Name: fmt.Sprintf("%s (row group %d, rows %d-%d)", path, g.Index, lo, x.End),
			MinTs: x.MinTs, MaxTs: x.MaxTs, Rows: int64(rows), Release: gs.close},
			func(ctx context.Context, sink RowSink) error { return gs.read(ctx, first, rows, last, sink) })
		lo = x.End
	}
	return parts, nil
}

// groupStream is the reader a row group's slices share. Slices are normally read in order, each continuing
// where the previous one stopped; a slice that is skipped (outside the selected time range) or read out of
// order costs a skip over its rows or a reopen, never a wait.
type groupStream struct {
	ft  *parquet.Footer
	rg  int
	mu  sync.Mutex
	r   *parquet.RowReader
	pos int // next row of r
}

// read passes the rows [first, first+rows) of the row group to sink.
func (gs *groupStream) read(ctx context.Context, first, rows int, last bool, sink RowSink) error {
	gs.mu.Lock()
	defer gs.mu.Unlock()
	if gs.r != nil && gs.pos > first {
		gs.closeLocked()
	}
	if gs.r == nil {
		r, err := parquet.OpenRowsOf(gs.ft, []int{gs.rg}, sliceRows)
		if err != nil {
			return err
		}
		gs.r, gs.pos = r, 0
	}
	if gs.pos < first { // skipped slices before this one
		n, err := gs.r.Read(first-gs.pos, func(schema.Stored) error { return nil })
		gs.pos += n
		if err == nil && gs.pos != first {
			err = fmt.Errorf("row group %d: %d rows, want at least %d", gs.rg, gs.pos, first)
		}
		if err != nil {
			gs.closeLocked()
			return err
		}
	}
	got, err := readChecked(ctx, gs.r, rows, sink)
	gs.pos += got
	if err == nil && got != rows {
		err = fmt.Errorf("row group %d: rows %d-%d: read %d", gs.rg, first, first+rows, got)
	}
	if err != nil || last {
		gs.closeLocked()
	}
	return err
}

// close releases the reader (the Stream calls it when it is closed, read to the end or not).
func (gs *groupStream) close() {
	gs.mu.Lock()
	defer gs.mu.Unlock()
	gs.closeLocked()
}

func (gs *groupStream) closeLocked() {
	if gs.r != nil {
		gs.r.Close()
		gs.r = nil
	}
}
