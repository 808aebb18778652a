package main

import (
	"context"
	"fmt"
	"io/fs"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// The information floor of the mix's tickers and trades: per column, the fewest bytes a row that a coder
// of that column must spend on average, estimated from the stored values, next to what the column takes in
// the files. A column's floor is the smallest of the entropies of its representations, each conditioned on
// the instrument (every row group holds one): its exact values (float64 bit patterns, or the same doubles
// as whole units of their decimal grid, integers, strings); the differences between consecutive rows of the
// same instrument in the files' row order (clocks, counters, cumulative volumes, prices); and for ns clocks
// (recv_ns, seq) the latency after the row's exchange time, which is what a coder that knew the exchange's
// schedule would pay. Each entropy is estimated from below (entropyFloor: the plug-in estimate, biased low
// and at most log2(n) bits, or the collision bound, whichever is larger), each instrument's first row is
// left out of the differences, so the floor is a conservative lower bound: a column stored below it would
// mean the estimator is wrong. It assumes what the mix's generator does: values drawn independently, given
// the previous row for clocks and counters. It is a floor for a coder of one column (as Parquet's
// encodings and compression are); one that saw seq together with recv_ns (seq is recv_ns, or the last
// seq + 1) could store seq almost free.

// floorDatasets are the datasets whose floor the mix reports, with the figure's suffix.
var floorDatasets = []struct{ dataset, key string }{{"tickers", "ticker"}, {"trades", "trade"}}

// floorColumns is how many of a table's largest columns the breakdown lists.
const floorColumns = 5

// colFloor is one column's figures, in bytes per row.
type colFloor struct {
	Floor  float64 `json:"floor"`
	Stored float64 `json:"stored"`
	// Decimal is, for DOUBLE columns on a decimal grid, what the same values cost as whole units of the grid
	// (lots, ticks) through a simple integer code (lengthCodeBits, of the units or of their differences,
	// whichever is less; first rows aside): an achievable cost. Their entropy is the same as the doubles'
	// (the map is one to one), so the floor is the same; Stored - Decimal is what the DOUBLE type through
	// Parquet's encodings and zstd costs beyond that simple code.
	Decimal float64 `json:"as_decimal,omitempty"`
	// Cap is the most the estimate can show with this many rows per instrument, log2(n(n-1)/6) bits (no
	// two equal among them): a floor near it is limited by the sample, not by the data.
	Cap float64 `json:"cap"`
}

// floorFigures adds parquet_floor_bytes_per_<ticker|trade> (the sum of every column's floor) and
// parquet_floor_columns_<ticker|trade> (the largest columns' floor and stored bytes) for the mix under dir.
func floorFigures(dir string, f map[string]any) error {
	for _, d := range floorDatasets {
		cols, err := datasetFloor(filepath.Join(dir, d.dataset))
		if err != nil {
			return fmt.Errorf("floor of %s: %w", d.dataset, err)
		}
		var sum float64
		for _, c := range cols {
			sum += c.Floor
		}
		f["parquet_floor_bytes_per_"+d.key] = round(sum, 2)
		f["parquet_floor_columns_"+d.key] = largestColumns(cols, floorColumns)
	}
	return nil
}

// largestColumns returns the n columns with the most stored bytes, rounded for the report.
func largestColumns(cols map[string]colFloor, n int) map[string]colFloor {
	names := make([]string, 0, len(cols))
	for name := range cols {
		names = append(names, name)
	}
	slices.SortFunc(names, func(a, b string) int {
		if cols[a].Stored != cols[b].Stored {
			if cols[a].Stored > cols[b].Stored {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	out := map[string]colFloor{}
	for _, name := range names[:min(n, len(names))] {
		c := cols[name]
		out[name] = colFloor{Floor: round(c.Floor, 2), Stored: round(c.Stored, 2), Decimal: round(c.Decimal, 2), Cap: round(c.Cap, 2)}
	}
	return out
}

// floorCol gathers one column's values over a dataset's files.
type floorCol struct {
	double bool
	sym    []uint64  // exact value per row
	ints   []int64   // integer columns: the values
	floats []float64 // DOUBLE columns: the values
	stored int64     // compressed bytes of its column chunks
}

// datasetFloor reads every Parquet file of a dataset folder (flat columns) and returns each column's floor.
func datasetFloor(dir string) (map[string]colFloor, error) {
	var paths []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".parquet") {
			paths = append(paths, p)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("no parquet files under %s", dir)
	}
	cols := map[string]*floorCol{}
	var keys []int32
	instIDs := map[string]int32{}
	for _, p := range paths { // WalkDir's lexical order: the parts in time order
		if keys, err = readFloorFile(p, cols, keys, instIDs); err != nil {
			return nil, err
		}
	}
	return columnFloors(cols, keys), nil
}

// columnFloors computes each column's floor from its values and the rows' instrument keys.
func columnFloors(cols map[string]*floorCol, keys []int32) map[string]colFloor {
	n := float64(len(keys))
	perKey := map[int32]int{}
	for _, k := range keys {
		perKey[k]++
	}
	var capBits float64 // the most collisionBits can show: no equal pair among an instrument's rows
	for _, c := range perKey {
		capBits += float64(c) / n * math.Log2(max(float64(c)*float64(c-1)/6, 1))
	}
	out := map[string]colFloor{}
	for name, c := range cols {
		units, sym := c.ints, c.sym
		if c.double {
			if units = gridUnits(c.floats, keys); units != nil {
				sym = make([]uint64, len(units)) // the same entropy as the bit patterns (one to one)
				for i, x := range units {
					sym[i] = uint64(x)
				}
			}
		}
		bitsRow := entropyFloor(sym, keys)
		if lat := latency(c.ints, cols["ts"]); lat != nil { // nil for ts itself
			bitsRow = min(bitsRow, entropyFloor(lat, keys))
		}
		var dec float64
		if units != nil {
			d, dk := keyedDeltas(units, keys)
			share := float64(len(d)) / n
			bitsRow = min(bitsRow, entropyFloor(d, dk)*share)
			if c.double {
				dec = min(lengthCodeBits(sym, keys), lengthCodeBits(d, dk)*share) / 8
			}
		}
		out[name] = colFloor{Floor: bitsRow / 8, Stored: float64(c.stored) / n, Decimal: dec, Cap: capBits / 8}
	}
	return out
}

// readFloorFile appends one file's rows to cols and their instrument keys to keys (inst_id's values,
// numbered in instIDs; one key for every row when there is no inst_id column).
func readFloorFile(path string, cols map[string]*floorCol, keys []int32, instIDs map[string]int32) ([]int32, error) {
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	defer pf.Close()
	md := pf.MetaData()
	for rg := range md.NumRowGroups() {
		rgm := md.RowGroup(rg)
		for i := range rgm.NumColumns() {
			cc, err := rgm.ColumnChunk(i)
			if err != nil {
				return nil, fmt.Errorf("%s row group %d column %d: %w", path, rg, i, err)
			}
			name := cc.PathInSchema().String()
			if cols[name] == nil {
				cols[name] = &floorCol{}
			}
			cols[name].stored += cc.TotalCompressedSize()
		}
	}
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 1 << 16}, memory.DefaultAllocator)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	defer tbl.Release()
	rows := int(tbl.NumRows())
	base := len(keys)
	keys = append(keys, make([]int32, rows)...)
	for i := range int(tbl.NumCols()) {
		name := tbl.Schema().Field(i).Name
		c := cols[name]
		if c == nil {
			return nil, fmt.Errorf("%s: column %s has no column chunk", path, name)
		}
		for _, chunk := range tbl.Column(i).Data().Chunks() {
			if err := c.appendArray(chunk); err != nil {
				return nil, fmt.Errorf("%s column %s: %w", path, name, err)
			}
			if name == "inst_id" {
				s := chunk.(*array.String) // appendArray checked the type
				for j := range s.Len() {
					id, ok := instIDs[s.Value(j)]
					if !ok {
						id = int32(len(instIDs))
						instIDs[s.Value(j)] = id
					}
					keys[base] = id
					base++
				}
			}
		}
	}
	return keys, nil
}

// appendArray appends one Arrow chunk's values; strings become dictionary ids of the column.
func (c *floorCol) appendArray(a arrow.Array) error {
	switch v := a.(type) {
	case *array.Int64:
		for _, x := range v.Int64Values() {
			c.ints, c.sym = append(c.ints, x), append(c.sym, uint64(x))
		}
	case *array.Timestamp:
		for _, x := range v.TimestampValues() {
			c.ints, c.sym = append(c.ints, int64(x)), append(c.sym, uint64(x))
		}
	case *array.Float64:
		c.double = true
		for _, x := range v.Float64Values() {
			c.floats, c.sym = append(c.floats, x), append(c.sym, math.Float64bits(x))
		}
	case *array.String:
		ids := map[string]uint64{}
		for i := range v.Len() {
			id, ok := ids[v.Value(i)]
			if !ok {
				id = uint64(len(ids))
				ids[v.Value(i)] = id
			}
			c.sym = append(c.sym, id)
		}
	case *array.Boolean:
		for i := range v.Len() {
			b := uint64(0)
			if v.Value(i) {
				b = 1
			}
			c.sym = append(c.sym, b)
		}
	default:
		return fmt.Errorf("type %s has no floor (flat columns only)", a.DataType())
	}
	if a.NullN() > 0 {
		return fmt.Errorf("%d nulls (okxtape columns are not nullable)", a.NullN())
	}
	return nil
}

// gridUnits returns the doubles as whole units of each instrument's decimal grid (10^-d, d the most
// decimals any of the instrument's values has written shortest; each value's shortest decimal, so distinct
// doubles stay distinct), or nil when a value is not a finite
// decimal of at most 15 places or its units overflow int64.
func gridUnits(v []float64, keys []int32) []int64 {
	decs := map[int32]int{}
	for i, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil
		}
		s := strconv.FormatFloat(x, 'f', -1, 64)
		if _, frac, ok := strings.Cut(s, "."); ok {
			decs[keys[i]] = max(decs[keys[i]], len(frac))
		}
	}
	out := make([]int64, len(v))
	for i, x := range v {
		d := decs[keys[i]]
		if d > 15 {
			return nil
		}
		whole, frac, _ := strings.Cut(strconv.FormatFloat(x, 'f', -1, 64), ".")
		u, err := strconv.ParseInt(whole+frac+strings.Repeat("0", d-len(frac)), 10, 64)
		if err != nil {
			return nil
		}
		out[i] = u
	}
	return out
}

// latency returns a ns clock column's values minus the row's exchange time (ts, ms) in ns, or nil when v is
// not such a clock (some value more than a day from its ts). For recv_ns and seq this is the network
// latency: given the exchange's schedule a coder would pay only its entropy, less than that of the
// differences between rows (of two latencies), so the floor takes it as one more representation.
func latency(v []int64, ts *floorCol) []uint64 {
	if v == nil || ts == nil || len(ts.ints) != len(v) {
		return nil
	}
	const day = int64(86_400e9)
	out := make([]uint64, len(v))
	for i, x := range v {
		l := x - ts.ints[i]*1e6
		if l < -day || l > day {
			return nil
		}
		out[i] = uint64(l)
	}
	return out
}
