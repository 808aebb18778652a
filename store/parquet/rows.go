package parquet

import (
	"context"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/okxtape/okxtape/schema"
)

// RowReader reads the rows of some row groups of a Parquet file a few at a time, decoding one record batch
// of at most batch rows at a time into one reused event: its memory is a batch and the column chunks being
// read, whatever the number of rows. Not safe for concurrent use.
type RowReader struct {
	path string
	pf   *file.Reader
	rr   pqarrow.RecordReader
	rd   *arrowRowReader
	ev   schema.Stored
	rec  arrow.RecordBatch
	row  int // next row of rec
	read int // rows passed to fn so far
}

// OpenRows opens path for reading the row groups rowGroups (nil: all) in the order given, in batches of
// batch rows. The table and the column checks are ReadFile's.
func OpenRows(path string, rowGroups []int, batch int) (*RowReader, error) {
	pf, err := file.OpenParquetFile(path, false, file.WithReadProps(parquet.NewReaderProperties(readerAlloc)))
	if err != nil {
		return nil, fmt.Errorf("open parquet %s: %w", path, err)
	}
	r, err := openRows(path, pf, rowGroups, batch)
	if err != nil {
		pf.Close()
		return nil, err
	}
	return r, nil
}

// OpenRowsOf is OpenRows on a file whose footer was read by FileFooter.
func OpenRowsOf(ft *Footer, rowGroups []int, batch int) (*RowReader, error) {
	pf, err := ft.open()
	if err != nil {
		return nil, err
	}
	r, err := openRows(ft.Path, pf, rowGroups, batch)
	if err != nil {
		pf.Close()
		return nil, err
	}
	return r, nil
}

func openRows(path string, pf *file.Reader, rowGroups []int, batch int) (*RowReader, error) {
	t := tableOfFile(path, pf)
	if t == nil {
		return nil, fmt.Errorf("parquet %s: cannot tell its dataset (no %s metadata, no dataset folder): %w",
			path, metaDataset, ErrIncompatibleFile)
	}
	props := pqarrow.ArrowReadProperties{BatchSize: int64(batch)}
	var leaves []int
	found := make([]bool, len(t.Columns))
	sch := pf.MetaData().Schema
	for i := 0; i < sch.NumColumns(); i++ {
		root, _, _ := strings.Cut(sch.Column(i).Path(), ".")
		ci := t.Index(root)
		if ci < 0 {
			continue
		}
		leaves = append(leaves, i)
		found[ci] = true
		if t.Columns[ci].Dict && t.Columns[ci].Type == schema.String {
			props.SetReadDict(i, true)
		}
	}
	for ci, ok := range found {
		if !ok {
			return nil, fmt.Errorf("parquet %s: no column %q of table %s: %w", path, t.Columns[ci].Name, t.Name, ErrIncompatibleFile)
		}
	}
	fr, err := pqarrow.NewFileReader(pf, props, readerAlloc)
	if err != nil {
		return nil, fmt.Errorf("parquet %s: %w", path, err)
	}
	rr, err := fr.GetRecordReader(context.Background(), leaves, rowGroups)
	if err != nil {
		return nil, fmt.Errorf("parquet %s: %w", path, err)
	}
	rd, err := newArrowRowReader(t, rr.Schema())
	if err != nil {
		rr.Release()
		return nil, fmt.Errorf("parquet %s: %w", path, err)
	}
	return &RowReader{path: path, pf: pf, rr: rr, rd: rd, ev: t.New()}, nil
}

// Read passes up to max more rows to fn (the same reused event each time, valid only during the call) and
// returns how many it passed; fewer than max only at the end of the row groups. A non-nil error from fn
// stops the read and is returned as is.
func (r *RowReader) Read(max int, fn func(schema.Stored) error) (int, error) {
	n := 0
	for n < max {
		if r.rec == nil || r.row >= int(r.rec.NumRows()) {
			if !r.rr.Next() {
				r.rec = nil
				if err := r.rr.Err(); err != nil {
					return n, fmt.Errorf("parquet %s: %w", r.path, err)
				}
				return n, nil
			}
			r.rec, r.row = r.rr.RecordBatch(), 0
			r.rd.bind(r.rec)
		}
		end := min(int(r.rec.NumRows()), r.row+max-n)
		for ; r.row < end; r.row++ {
			r.rd.row, r.rd.col = r.row, 0
			r.ev.ReadRow(r.rd)
			if r.rd.err != nil {
				return n, fmt.Errorf("parquet %s row %d: %w", r.path, r.read, r.rd.err)
			}
			r.read++
			n++
			if err := fn(r.ev); err != nil {
				r.row++
				return n, err
			}
		}
	}
	return n, nil
}

// Close releases the reader and its file.
func (r *RowReader) Close() {
	if r.rr != nil {
		r.rr.Release()
		r.rr = nil
	}
	if r.pf != nil {
		r.pf.Close()
		r.pf = nil
	}
}

// TsSeqOf returns the ts and seq columns of row group rg of a file read by FileFooter, in file order (for
// cutting a row group into parts that keep arrival order; see replay's ParquetSource).
func TsSeqOf(ft *Footer, rg int) (ts, seq []int64, err error) {
	path := ft.Path
	pf, err := ft.open()
	if err != nil {
		return nil, nil, err
	}
	defer pf.Close()
	sch := pf.MetaData().Schema
	ti, si := sch.ColumnIndexByName("ts"), sch.ColumnIndexByName("seq")
	if ti < 0 || si < 0 {
		return nil, nil, fmt.Errorf("parquet %s: no ts or seq column: %w", path, ErrIncompatibleFile)
	}
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: readBatchRows}, readerAlloc)
	if err != nil {
		return nil, nil, fmt.Errorf("parquet %s: %w", path, err)
	}
	rr, err := fr.GetRecordReader(context.Background(), []int{ti, si}, []int{rg})
	if err != nil {
		return nil, nil, fmt.Errorf("parquet %s: %w", path, err)
	}
	defer rr.Release()
	for rr.Next() {
		rec := rr.RecordBatch()
		tc, sc := rec.Column(0), rec.Column(1)
		if tc.NullN() > 0 || sc.NullN() > 0 {
			return nil, nil, fmt.Errorf("parquet %s: null ts or seq: %w", path, ErrIncompatibleFile)
		}
		if rec.Schema().Field(0).Name != "ts" {
			tc, sc = sc, tc
		}
		ts = append(ts, int64Values(tc)...)
		seq = append(seq, int64Values(sc)...)
	}
	if err := rr.Err(); err != nil {
		return nil, nil, fmt.Errorf("parquet %s: %w", path, err)
	}
	return ts, seq, nil
}
