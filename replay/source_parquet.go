package replay

import (
	"context"
	"fmt"
	"time"

	"github.com/okxtape/okxtape/store/parquet"

	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"

	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/store"
)

// ParquetSource reads the hive-partitioned Parquet store written by parquet.Sink. Each part file is one
// Part; its ts bounds come from the file's column statistics (footer only), or, for files written without
// statistics, from one extra pass over the file.
type ParquetSource struct {
	Dir string
}

// NewParquetSource returns a source over the store in dir.
func NewParquetSource(dir string) *ParquetSource { return &ParquetSource{Dir: dir} }

// Close implements Source.
func (p *ParquetSource) Close() error { return nil }

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
	parts := make([]Part, 0, len(files))
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		path := f.Path
		lo, hi, rows, err := parquetTsBounds(path)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		read := func(ctx context.Context, fn func(schema.Stored) error) error {
			n := 0
			return parquet.ReadFile(path, func(e schema.Stored) error {
				if n++; n&4095 == 0 {
					if err := ctx.Err(); err != nil {
						return err
					}
				}
				return fn(e)
			})
		}
		if lo == minTs || hi == maxTs {
			lo, hi = maxTs, minTs
			err := read(ctx, func(e schema.Stored) error {
				ts := e.Hdr().Ts
				lo, hi = min(lo, ts), max(hi, ts)
				return nil
			})
			if err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			if lo > hi { // empty file
				continue
			}
		}
		parts = append(parts, Part{Name: path, MinTs: lo, MaxTs: hi, Rows: rows, Read: read})
	}
	return parts, nil
}

// parquetTsBounds returns the min and max of the ts column from the row-group statistics of a Parquet file,
// or (minTs, maxTs) when some row group has none, and the file's row count.
func parquetTsBounds(path string) (lo, hi, rows int64, err error) {
	r, err := file.OpenParquetFile(path, false)
	if err != nil {
		return 0, 0, 0, err
	}
	defer r.Close()
	md := r.MetaData()
	rows = md.NumRows
	col := md.Schema.ColumnIndexByName("ts")
	if col < 0 {
		return 0, 0, 0, fmt.Errorf("no ts column")
	}
	lo, hi = maxTs, minTs
	for i := 0; i < md.NumRowGroups(); i++ {
		rg := md.RowGroup(i)
		if rg.NumRows() == 0 {
			continue
		}
		cc, err := rg.ColumnChunk(col)
		if err != nil {
			return minTs, maxTs, rows, nil
		}
		if ok, _ := cc.StatsSet(); !ok {
			return minTs, maxTs, rows, nil
		}
		st, err := cc.Statistics()
		if err != nil || st == nil || !st.HasMinMax() {
			return minTs, maxTs, rows, nil
		}
		is, ok := st.(*metadata.Int64Statistics)
		if !ok {
			return minTs, maxTs, rows, nil
		}
		lo, hi = min(lo, is.Min()), max(hi, is.Max())
	}
	if lo > hi {
		return minTs, maxTs, rows, nil
	}
	return lo, hi, rows, nil
}
