package replay

import (
	"context"
	"fmt"
	"sync"

	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/store/parquet"
)

// sliceRows is about how many rows one slice of a streamed row group holds (a variable for tests).
var sliceRows = 1024

// slicedParts cuts row group g of path (one instrument, by-instrument layout) into parts of about sliceRows
// rows, cut only where every earlier row of the row group arrived before every later one, so the parts keep
// the arrival order part by part. Their ts bounds come from one read of the ts and seq columns. The parts
// share one reader that streams the row group: part k waits for part k-1 and continues where it stopped, so
// memory holds a slice per instrument and dataset instead of a row group.
func slicedParts(ft *parquet.Footer, g parquet.GroupStats) ([]Part, error) {
	path := ft.Path
	ts, seq, err := parquet.TsSeqOf(ft, g.Index)
	if err != nil {
		return nil, err
	}
	n := len(ts)
	if int64(n) != g.Rows {
		return nil, fmt.Errorf("row group %d: %d ts values for %d rows", g.Index, n, g.Rows)
	}
	sufMin := make([]int64, n+1)
	sufMin[n] = int64(^uint64(0) >> 1)
	for i := n - 1; i >= 0; i-- {
		sufMin[i] = min(sufMin[i+1], seq[i])
	}
	var bounds []int // slice ends
	lo, prefMax := 0, int64(-1<<63)
	for i := 0; i < n; i++ {
		prefMax = max(prefMax, seq[i])
		if i+1-lo >= sliceRows && n-(i+1) >= sliceRows/4 && prefMax < sufMin[i+1] {
			bounds = append(bounds, i+1)
			lo = i + 1
		}
	}
	bounds = append(bounds, n)
	gs := &groupStream{ft: ft, rg: g.Index, done: make([]chan struct{}, len(bounds))}
	for k := range gs.done {
		gs.done[k] = make(chan struct{})
	}
	parts := make([]Part, len(bounds))
	lo = 0
	for k, hi := range bounds {
		mn, mx := int64(maxTs), int64(minTs)
		for _, t := range ts[lo:hi] {
			mn, mx = min(mn, t), max(mx, t)
		}
		k, rows := k, hi-lo
		parts[k] = Part{Name: fmt.Sprintf("%s (row group %d, rows %d-%d)", path, g.Index, lo, hi), MinTs: mn, MaxTs: mx,
			Rows: int64(rows), Read: func(ctx context.Context, fn func(schema.Stored) error) error {
				return gs.read(ctx, k, rows, fn)
			}, Release: gs.close}
		lo = hi
	}
	return parts, nil
}

// groupStream is the reader a row group's slices share.
type groupStream struct {
	ft   *parquet.Footer
	rg   int
	done []chan struct{} // done[k] is closed when slice k has been read (or failed)
	mu   sync.Mutex      // guards r against close from Release
	r    *parquet.RowReader
	err  error
}

// read passes the rows of slice k (rows rows) to fn, after slice k-1.
func (gs *groupStream) read(ctx context.Context, k, rows int, fn func(schema.Stored) error) error {
	if k > 0 {
		select {
		case <-gs.done[k-1]:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	defer close(gs.done[k])
	gs.mu.Lock()
	defer gs.mu.Unlock()
	if gs.err != nil {
		return gs.err
	}
	if gs.r == nil {
		if k > 0 {
			gs.err = fmt.Errorf("row group %d: reader closed before slice %d", gs.rg, k)
			return gs.err
		}
		if gs.r, gs.err = parquet.OpenRowsOf(gs.ft, []int{gs.rg}, sliceRows); gs.err != nil {
			return gs.err
		}
	}
	n := 0
	got, err := gs.r.Read(rows, func(e schema.Stored) error {
		if n++; n&1023 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		return fn(e)
	})
	if err == nil && got != rows {
		err = fmt.Errorf("row group %d: slice %d has %d rows, want %d", gs.rg, k, got, rows)
	}
	if err != nil || k == len(gs.done)-1 {
		gs.err = err
		if err == nil {
			gs.err = fmt.Errorf("row group %d: read past its last slice", gs.rg)
		}
		gs.r.Close()
		gs.r = nil
	}
	return err
}

// close releases the reader (the Stream calls it when it is closed, read to the end or not).
func (gs *groupStream) close() {
	gs.mu.Lock()
	defer gs.mu.Unlock()
	if gs.r != nil {
		gs.r.Close()
		gs.r = nil
	}
}
