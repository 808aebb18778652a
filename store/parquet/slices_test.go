package parquet

import (
	"reflect"
	"strings"
	"testing"
)

func TestSlicesMetadataRoundTrip(t *testing.T) {
	in := map[int][]Slice{0: {{1024, 5, 9}, {2050, 9, 12}}, 3: {{3000, -4, 7}}}
	var b strings.Builder
	formatSlices(&b, 0, in[0])
	formatSlices(&b, 3, in[3])
	if got := parseSlices(b.String()); !reflect.DeepEqual(got, in) {
		t.Fatalf("round trip %q: %v", b.String(), got)
	}
	for _, bad := range []string{"", "x 1,2,3", "0 1,2", "0 5,1,2 4,1,2", "0 1,9,2", "0 a,1,2"} {
		if got := parseSlices(bad); got != nil {
			t.Errorf("parseSlices(%q) = %v, want nil", bad, got)
		}
	}
}

// FuzzParseSlices: any metadata value parses to nil or to slices with increasing ends, never a panic.
func FuzzParseSlices(f *testing.F) {
	f.Add("0 1024,5,9 2050,9,12\n3 3000,-4,7")
	f.Add("1 1,1,1")
	f.Fuzz(func(t *testing.T, v string) {
		for _, sl := range parseSlices(v) {
			for i := 1; i < len(sl); i++ {
				if sl[i].End <= sl[i-1].End || sl[i].MinTs > sl[i].MaxTs {
					t.Fatalf("%q: %v", v, sl)
				}
			}
		}
	})
}

func TestSliceCutsKeepArrivalOrder(t *testing.T) {
	// seq 7 arrives late with an early ts: no cut may separate it from the rows that arrived before it.
	ts := []int64{1, 2, 3, 4, 5, 6, 7, 8}
	seq := []int64{1, 2, 7, 3, 4, 5, 6, 8}
	sl := SliceCuts(ts, seq, 2)
	lo := 0
	for _, s := range sl {
		maxBefore := int64(-1)
		for _, q := range seq[:s.End] {
			maxBefore = max(maxBefore, q)
		}
		for _, q := range seq[s.End:] {
			if q < maxBefore {
				t.Fatalf("cut at %d separates seq %d from an earlier-arrived row %d: %v", s.End, maxBefore, q, sl)
			}
		}
		if s.MinTs != ts[lo] || s.MaxTs != ts[s.End-1] {
			t.Fatalf("slice %v bounds", s)
		}
		lo = s.End
	}
	if len(sl) < 2 || sl[len(sl)-1].End != len(ts) {
		t.Fatalf("slices %v", sl)
	}
}
