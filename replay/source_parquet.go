package replay

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/okxtape/okxtape/store/parquet"

	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/store"
)

// ParquetSource reads the hive-partitioned Parquet store written by parquet.Sink. Files written with the
// by-instrument row-group layout (store/parquet/rowgroups.go) are read one row group per Part, in ts order
// within the file, so the merge holds about one row group per instrument and dataset whatever the length of
// the range; older files are one Part each. Row groups whose footer statistics (ts, inst_id, channel) prove
// they hold no selected row are not read. For files written without statistics the ts bounds come from one
// extra pass over the file.
type ParquetSource struct {
	Dir string
}

// NewParquetSource returns a source over the store in dir.
func NewParquetSource(dir string) *ParquetSource { return &ParquetSource{Dir: dir} }

// Close implements Source.
func (p *ParquetSource) Close() error { return nil }

// ConcurrentParts implements ConcurrentLister: Parts only reads its own files.
func (p *ParquetSource) ConcurrentParts() bool { return true }

// Parts implements Source: the files of the date partitions that overlap q, in (date, first seq) order.
func (p *ParquetSource) Parts(ctx context.Context, t *schema.Table, q store.Query) ([]Part, error) {
	to := q.To
	if !to.IsZero() {
		// ListParts includes the partition of its upper bound; [from, to) ends just before to.
		to = to.Add(-time.Millisecond)
	}
	files, err := parquet.ListParts(p.Dir, t.Name, q.From, to)
	if err != nil {
		return nil, err
	}
	insts, chans := q.Insts, q.Channels
	if t.Kind == schema.KindGap { // connection-wide gaps ("" inst or channel) match every selection
		insts, chans = nil, nil
	}
	var parts []Part
	keep := footerKeepBytes
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		fileParts, err := filePartsOf(ctx, f.Path, q, insts, chans, &keep)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Path, err)
		}
		parts = append(parts, fileParts...)
	}
	return parts, nil
}

// footerKeepBytes bounds the footers (by stored size) one listing keeps parsed from listing to reading;
// the others are dropped after listing and parsed again when read, so a long range does not hold every
// file's footer. The bench mix's footers are 13-87 KB.
const footerKeepBytes = 256 << 10

// filePartsOf returns the parts of one file: one per selected row group (ordered by MinTs) for the
// by-instrument layout, else one for the whole file (its selected row groups in file order). The file's
// parsed footer is kept for reading while *keep (bytes) allows, and *keep is lowered by its size.
func filePartsOf(ctx context.Context, path string, q store.Query, insts, chans []string, keep *int) ([]Part, error) {
	groups, byInst, ft, err := parquet.FileFooter(path)
	if err != nil {
		return nil, err
	}
	release := func() { // forget the opens announced so far; drop the parsed footer unless it fits in keep
		if n := ft.Size(); n > 0 && n <= *keep {
			*keep -= n
			ft.Forget()
		} else {
			ft.Release()
		}
	}
	from, to := q.Bounds()
	var sel []parquet.GroupStats
	statsOK := true
	for _, g := range groups {
		if g.Rows == 0 || !g.MayHold(insts, chans) || g.MaxTs < from || g.MinTs >= to {
			continue
		}
		statsOK = statsOK && g.MinTs != minTs && g.MaxTs != maxTs
		sel = append(sel, g)
	}
	if len(sel) == 0 {
		return nil, nil
	}
	if byInst && statsOK {
		var parts []Part
		ft.Keep(len(sel)) // the ts/seq reads of the sliced row groups (at most one per row group)
		for _, g := range sel {
			if g.HasInst && g.MinInst == g.MaxInst && (g.Slices != nil || g.Rows > int64(2*sliceRows)) {
				// A row group whose ts/seq cannot be read is listed whole: its error surfaces when it is read,
				// in replay order, like any damaged data.
				if sliced, err := slicedParts(ft, g); err == nil {
					parts = append(parts, sliced...)
					continue
				}
			}
			parts = append(parts, readPart(Part{Name: fmt.Sprintf("%s (row group %d)", path, g.Index), MinTs: g.MinTs,
				MaxTs: g.MaxTs, Rows: g.Rows}, readGroupsOf(ft, []int{g.Index})))
		}
		release()
		ft.Keep(len(sel)) // one reader per row group, when it is read
		// Stable: the slices of a row group, and an instrument's row groups, keep their file order.
		slices.SortStableFunc(parts, func(a, b Part) int { return cmp.Compare(a.MinTs, b.MinTs) })
		return parts, nil
	}
	idx := make([]int, len(sel))
	lo, hi, rows := int64(maxTs), int64(minTs), int64(0)
	for i, g := range sel {
		idx[i] = g.Index
		lo, hi, rows = min(lo, g.MinTs), max(hi, g.MaxTs), rows+g.Rows
	}
	if len(idx) == len(groups) {
		idx = nil // the whole file
	}
	release()
	ft.Keep(1)
	p := readPart(Part{Name: path, Rows: rows}, readGroupsOf(ft, idx))
	if !statsOK {
		lo, hi = maxTs, minTs
		err := p.Read(ctx, func(e schema.Stored) error {
			ts := e.Hdr().Ts
			lo, hi = min(lo, ts), max(hi, ts)
			return nil
		})
		if err != nil {
			return nil, err
		}
		if lo > hi { // empty file
			return nil, nil
		}
	}
	p.MinTs, p.MaxTs = lo, hi
	return []Part{p}, nil
}

// readGroupsOf returns a Part.ReadTo of the row groups idx of a file (nil: all).
func readGroupsOf(ft *parquet.Footer, idx []int) func(ctx context.Context, sink RowSink) error {
	return func(ctx context.Context, sink RowSink) error {
		r, err := parquet.OpenRowsOf(ft, idx, 8<<10)
		if err != nil {
			return err
		}
		defer r.Close()
		_, err = readChecked(ctx, r, math.MaxInt, sink)
		return err
	}
}

// readPart makes a Part's Read and ReadTo out of its ReadTo.
func readPart(p Part, readTo func(ctx context.Context, sink RowSink) error) Part {
	p.ReadTo = readTo
	p.Read = func(ctx context.Context, fn func(schema.Stored) error) error { return readTo(ctx, eachRow(fn)) }
	return p
}

// eachRow is a RowSink passing every row to fn in the reader's reused event (the contract of Part.Read).
func eachRow(fn func(schema.Stored) error) RowSink { return fnSink(fn) }

type fnSink func(schema.Stored) error

func (s fnSink) Slot() schema.Stored       { return nil }
func (s fnSink) Row(e schema.Stored) error { return s(e) }

// readChecked passes up to rows rows of r to sink (fewer only at the end of r's row groups), checking ctx
// between runs of ctxRows rows instead of wrapping sink (a call less per row).
func readChecked(ctx context.Context, r *parquet.RowReader, rows int, sink RowSink) (int, error) {
	got := 0
	for got < rows {
		if err := ctx.Err(); err != nil {
			return got, err
		}
		want := min(rows-got, ctxRows)
		n, err := r.ReadTo(want, sink)
		got += n
		if err != nil || n < want {
			return got, err
		}
	}
	return got, nil
}

// ctxRows is how many rows readChecked reads between checks of its context.
const ctxRows = 4096
