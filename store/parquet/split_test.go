package parquet

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"

	"github.com/okxtape/okxtape/internal/storetest"
	"github.com/okxtape/okxtape/internal/testenv"
	"github.com/okxtape/okxtape/schema"
)

// TestSplitColumns: the columns marked Split (the tickers' 24 h volumes) are written BYTE_STREAM_SPLIT and
// every other double PLAIN, and the files read back exactly, bit for bit (NaN, infinities and -0 too),
// through okxtape's reader (replay's) and through DuckDB.
func TestSplitColumns(t *testing.T) {
	dir := t.TempDir()
	pq := NewSink(dir, Options{})
	if err := pq.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	g := storetest.NewTickerGen(3, 4)
	var evs []schema.Stored
	vol := 17602.13085371
	for i := range 3000 {
		e := schema.Clone(g.Next()).(*schema.Ticker)
		vol += float64(i%97) * 0.00000137
		e.Vol24h, e.VolCcy24h = vol, vol*30236.5
		switch i {
		case 5:
			e.Vol24h = math.NaN() // OKX's "" (not applicable)
		case 6:
			e.VolCcy24h = math.Inf(1)
		case 7:
			e.Vol24h = math.Copysign(0, -1)
		}
		evs = append(evs, e)
	}
	pqWriteAll(t, pq, map[*schema.Table][]schema.Stored{schema.TickerTable: evs})
	paths, err := filepath.Glob(filepath.Join(dir, "tickers", "*", "*.parquet"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no ticker files: %v", err)
	}
	for _, p := range paths {
		checkEncodings(t, p, schema.TickerTable)
	}
	var got []schema.Stored
	for _, p := range paths {
		if err := ReadFile(p, func(e schema.Stored) error { got = append(got, schema.Clone(e)); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	storetest.SameEvents(t, storetest.BySeq(got), storetest.BySeq(evs))

	// DuckDB: the same doubles, in seq order (%.17g round-trips a double).
	script := testenv.DuckDBScript(t)
	q := fmt.Sprintf(`SELECT string_agg(printf('%%.17g/%%.17g', vol_24h, vol_ccy_24h), ',' ORDER BY seq) AS r
		FROM read_parquet('%s/tickers/*/*.parquet')`, dir)
	out, err := exec.Command("node", script, q).CombinedOutput()
	if err != nil {
		t.Fatalf("duckdb: %v\n%s", err, out)
	}
	var rows []struct{ R string }
	if err := json.Unmarshal(out, &rows); err != nil || len(rows) != 1 {
		t.Fatalf("duckdb: %s", out)
	}
	pairs := strings.Split(rows[0].R, ",")
	want := storetest.BySeq(evs)
	if len(pairs) != len(want) {
		t.Fatalf("duckdb read %d rows, want %d", len(pairs), len(want))
	}
	for i, pr := range pairs {
		e := want[i].(*schema.Ticker)
		a, b, _ := strings.Cut(pr, "/")
		if !sameFloat(a, e.Vol24h) || !sameFloat(b, e.VolCcy24h) {
			t.Fatalf("row %d: duckdb %s, want %v/%v", i, pr, e.Vol24h, e.VolCcy24h)
		}
	}
}

// sameFloat reports whether DuckDB's text of a double is v (NaN equals NaN; the sign of zero counts).
func sameFloat(s string, v float64) bool {
	switch strings.ToLower(s) {
	case "nan", "-nan":
		return math.IsNaN(v)
	case "inf", "infinity":
		return math.IsInf(v, 1)
	case "-inf", "-infinity":
		return math.IsInf(v, -1)
	}
	f, err := strconv.ParseFloat(s, 64)
	return err == nil && math.Float64bits(f) == math.Float64bits(v)
}

// checkEncodings fails unless every column chunk of a double column uses BYTE_STREAM_SPLIT exactly when the
// table marks the column Split.
func checkEncodings(t *testing.T, path string, tb *schema.Table) {
	t.Helper()
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	for g := range pf.NumRowGroups() {
		rg := pf.MetaData().RowGroup(g)
		for i, c := range tb.Columns {
			if c.Type != schema.Float64 {
				continue
			}
			cc, err := rg.ColumnChunk(i)
			if err != nil {
				t.Fatal(err)
			}
			split := slices.Contains(cc.Encodings(), parquet.Encodings.ByteStreamSplit)
			if split != c.Split {
				t.Fatalf("%s row group %d column %s: encodings %v, Split %v", path, g, c.Name, cc.Encodings(), c.Split)
			}
		}
	}
}
