package main

import (
	"encoding/json"
	"path/filepath"
	"testing"
)

// TestFloorBelowStored writes 20 s of the mix, reads its tickers and trades back and checks every column's
// floor against what the column takes in the files: a floor above the stored size would mean the estimator
// is wrong. It also checks that the floor sees the receive-time jitter (tens of bits a row) and the
// sizes' decimal grid, and that the figures land under their keys.
func TestFloorBelowStored(t *testing.T) {
	dir := t.TempDir()
	f := map[string]any{}
	if err := writtenMixFigures(f, dir, 20); err != nil {
		t.Fatal(err)
	}
	for _, d := range floorDatasets {
		cols, err := datasetFloor(filepath.Join(dir, d.dataset))
		if err != nil {
			t.Fatal(err)
		}
		var floor, stored float64
		for name, c := range cols {
			if c.Floor > c.Stored || c.Floor < 0 {
				t.Errorf("%s.%s: floor %.3f B/row, stored %.3f", d.dataset, name, c.Floor, c.Stored)
			}
			floor, stored = floor+c.Floor, stored+c.Stored
		}
		if c := cols["recv_ns"]; c.Floor < 1.2 {
			t.Errorf("%s.recv_ns floor %.2f B/row: the jitter (exponential, mean 0.5 ms, in ns) is about 20 bits", d.dataset, c.Floor)
		}
		sz := map[string]string{"tickers": "last_sz", "trades": "sz"}[d.dataset]
		if c := cols[sz]; c.Decimal <= c.Floor || c.Decimal >= c.Stored {
			t.Errorf("%s.%s: floor %.2f, as lots %.2f, stored %.2f B/row: want floor < lots < stored", d.dataset, sz,
				c.Floor, c.Decimal, c.Stored)
		}
		got, _ := f["parquet_floor_bytes_per_"+d.key].(float64)
		if got != round(floor, 2) || got >= f["parquet_bytes_per_"+d.key].(float64) {
			t.Errorf("parquet_floor_bytes_per_%s = %v, want %.2f, below parquet_bytes_per_%s %v", d.key, got, floor, d.key,
				f["parquet_bytes_per_"+d.key])
		}
		if top := f["parquet_floor_columns_"+d.key].(map[string]colFloor); len(top) != floorColumns {
			t.Errorf("parquet_floor_columns_%s has %d columns", d.key, len(top))
		}
		t.Logf("%s: floor %.2f B/row, columns %.2f, file %.2f", d.dataset, floor, stored, f["parquet_bytes_per_"+d.key])
	}
	if _, err := json.Marshal(f); err != nil {
		t.Fatal(err)
	}
}

// TestOutFile checks that only the full suite or an explicit -out writes a file: a part of the suite such
// as -write-mix used to replace bench/latest.json with its few figures.
func TestOutFile(t *testing.T) {
	for _, tc := range []struct {
		flag string
		full bool
		want string
	}{
		{"", true, "bench/latest.json"},
		{"", false, ""},
		{"/tmp/x.json", false, "/tmp/x.json"},
		{"bench/soak.json", true, "bench/soak.json"},
	} {
		if got := outFile(tc.flag, tc.full); got != tc.want {
			t.Errorf("outFile(%q, full %v) = %q, want %q", tc.flag, tc.full, got, tc.want)
		}
	}
}
