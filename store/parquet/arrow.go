package parquet

import (
	"context"
	"fmt"
	"sort"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/okxtape/okxtape/schema"
)

// ArrowSchema derives the Arrow (and so Parquet) schema of a table: TimeMs/TimeNs become TIMESTAMP(ms/ns,
// UTC), lists become LIST<float64|int64>, everything else its plain type. No column is nullable: OKX's ""
// is stored as NaN for floats and "" for strings.
func ArrowSchema(t *schema.Table) *arrow.Schema {
	fields := make([]arrow.Field, len(t.Columns))
	for i, c := range t.Columns {
		fields[i] = arrow.Field{Name: c.Name, Type: ArrowType(c.Type), Nullable: false}
	}
	return arrow.NewSchema(fields, nil)
}

// ArrowType maps a column type to its Arrow type.
func ArrowType(t schema.Type) arrow.DataType {
	switch t {
	case schema.Int64:
		return arrow.PrimitiveTypes.Int64
	case schema.TimeMs:
		return &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}
	case schema.TimeNs:
		return &arrow.TimestampType{Unit: arrow.Nanosecond, TimeZone: "UTC"}
	case schema.Float64:
		return arrow.PrimitiveTypes.Float64
	case schema.String:
		return arrow.BinaryTypes.String
	case schema.Bool:
		return arrow.FixedWidthTypes.Boolean
	case schema.Float64List:
		return arrow.ListOfNonNullable(arrow.PrimitiveTypes.Float64)
	case schema.Int64List:
		return arrow.ListOfNonNullable(arrow.PrimitiveTypes.Int64)
	}
	panic("store: unknown column type " + t.String())
}

func sortParts(p []PartFile) {
	sort.Slice(p, func(i, j int) bool {
		if p[i].Date != p[j].Date {
			return p[i].Date < p[j].Date
		}
		return p[i].FirstSeq < p[j].FirstSeq
	})
}

// ArrowReadAll reads every column of a Parquet file with pqarrow, one record batch after another, and
// returns the rows read: the plain columnar read that replay's speed is compared with (bench only).
func ArrowReadAll(path string) (int64, error) {
	pf, err := file.OpenParquetFile(path, false, file.WithReadProps(parquet.NewReaderProperties(readerAlloc)))
	if err != nil {
		return 0, fmt.Errorf("open parquet %s: %w", path, err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: readBatchRows}, readerAlloc)
	if err != nil {
		return 0, fmt.Errorf("parquet %s: %w", path, err)
	}
	rr, err := fr.GetRecordReader(context.Background(), nil, nil)
	if err != nil {
		return 0, fmt.Errorf("parquet %s: %w", path, err)
	}
	defer rr.Release()
	var n int64
	for rr.Next() {
		n += rr.RecordBatch().NumRows()
	}
	if err := rr.Err(); err != nil {
		return n, fmt.Errorf("parquet %s: %w", path, err)
	}
	return n, nil
}
