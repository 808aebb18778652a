package storetest

import (
	"context"
	"os"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// RewriteWithPqarrow rewrites a Parquet file in place through pqarrow with props, in row groups of 50 rows and
// without okxtape's metadata: a file as older okxtape versions or other writers store the same rows.
func RewriteWithPqarrow(t testing.TB, path string, props *parquet.WriterProperties) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := pqarrow.ReadTable(context.Background(), f, nil, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	if err := pqarrow.WriteTable(tbl, out, 50, props, pqarrow.DefaultWriterProps()); err != nil {
		t.Fatal(err)
	}
}
