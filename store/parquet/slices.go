package parquet

import (
	"fmt"
	"strconv"
	"strings"
)

// SliceRows is about how many rows the writer puts in one slice of a row group (see Slice).
const SliceRows = 1024

// metaSlices is the key-value metadata entry listing the slices of a file's row groups: one line per sliced
// row group, "<row group> <end>,<minTs>,<maxTs> <end>,<minTs>,<maxTs> ...".
const metaSlices = "okxtape.slices"

// Slice is a run of rows of a row group that replay reads as one part: the rows from the previous slice's
// End (0 for the first) to End, with ts in [MinTs, MaxTs]. Slices are cut only where every earlier row of
// the row group arrived before every later one, so reading them in order keeps each stream's arrival order
// part by part.
type Slice struct {
	End          int
	MinTs, MaxTs int64
}

// SliceCuts cuts the rows of a row group (their ts and seq in file order) into slices of about target rows.
func SliceCuts(ts, seq []int64, target int) []Slice {
	n := len(ts)
	sufMin := make([]int64, n+1)
	sufMin[n] = int64(^uint64(0) >> 1)
	for i := n - 1; i >= 0; i-- {
		sufMin[i] = min(sufMin[i+1], seq[i])
	}
	var out []Slice
	lo, prefMax := 0, int64(-1<<63)
	cut := func(hi int) {
		s := Slice{End: hi, MinTs: ts[lo], MaxTs: ts[lo]}
		for _, t := range ts[lo:hi] {
			s.MinTs, s.MaxTs = min(s.MinTs, t), max(s.MaxTs, t)
		}
		out = append(out, s)
		lo = hi
	}
	for i := 0; i < n; i++ {
		prefMax = max(prefMax, seq[i])
		if i+1-lo >= target && n-(i+1) >= target/4 && prefMax < sufMin[i+1] {
			cut(i + 1)
		}
	}
	if lo < n {
		cut(n)
	}
	return out
}

// formatSlices encodes the slices of row group rg as one metaSlices line.
func formatSlices(b *strings.Builder, rg int, sl []Slice) {
	if b.Len() > 0 {
		b.WriteByte('\n')
	}
	b.WriteString(strconv.Itoa(rg))
	for _, s := range sl {
		fmt.Fprintf(b, " %d,%d,%d", s.End, s.MinTs, s.MaxTs)
	}
}

// parseSlices decodes a metaSlices value into slices by row group; a malformed value yields none (the
// reader then computes the slices itself).
func parseSlices(v string) map[int][]Slice {
	out := map[int][]Slice{}
	for _, line := range strings.Split(v, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			return nil
		}
		rg, err := strconv.Atoi(f[0])
		if err != nil {
			return nil
		}
		prev := 0
		for _, x := range f[1:] {
			p := strings.Split(x, ",")
			if len(p) != 3 {
				return nil
			}
			end, e1 := strconv.Atoi(p[0])
			lo, e2 := strconv.ParseInt(p[1], 10, 64)
			hi, e3 := strconv.ParseInt(p[2], 10, 64)
			if e1 != nil || e2 != nil || e3 != nil || end <= prev || lo > hi {
				return nil
			}
			out[rg] = append(out[rg], Slice{End: end, MinTs: lo, MaxTs: hi})
			prev = end
		}
	}
	return out
}
