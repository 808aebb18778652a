package parquet

import "strings"

// Row groups: a file's rows are sorted by (inst_id, ts, seq) and cut into row groups so that replay can read
// one row group at a time in time order (see replay's ParquetSource):
//
//   - an instrument with at least target/2 rows gets row groups of its own, each about target rows, cut only
//     where every earlier row of the instrument arrived before every later one (prefix max seq < suffix min
//     seq), so reading its row groups in file order visits its rows in arrival order part by part;
//   - smaller instruments are packed whole into shared row groups (an instrument never spans two of them).
//
// Files written this way carry metaRowGroups = rowGroupsByInst. A reader may then read each row group as a
// part and order a file's row groups by their minimum ts: every instrument's row groups keep their file
// order, because their ts ranges do not decrease.

// metaRowGroups is the key-value metadata entry naming the row-group layout of a part file.
const metaRowGroups = "okxtape.row_groups"

// rowGroupsByInst is the layout described above.
const rowGroupsByInst = "by-inst-seq-cut"

// RowGroupsByInst reports whether a file's key-value metadata value of metaRowGroups (nil when absent)
// declares the by-instrument row-group layout.
func RowGroupsByInst(v *string) bool { return v != nil && *v == rowGroupsByInst }

// MetaRowGroups is the metadata key to look the layout up with.
const MetaRowGroups = metaRowGroups

// rowGroupEnds returns the end offsets (exclusive) of the row groups of perm, the rows in sorted order.
func (f *fileBuf) rowGroupEnds(perm []int32, target int) []int {
	target = max(target, 1)
	inst := &f.cols[f.instCol].idx
	seq := &f.cols[f.seqCol].ints
	var ends []int
	var sufMin []int64
	packed := 0 // start of the row group being packed with small instruments
	for a := 0; a < len(perm); {
		b := a + 1
		id := inst.at(int(perm[a]))
		for b < len(perm) && inst.at(int(perm[b])) == id {
			b++
		}
		if b-a < (target+1)/2 {
			if b-packed >= target {
				ends = append(ends, b)
				packed = b
			}
			a = b
			continue
		}
		if a > packed {
			ends = append(ends, a)
		}
		// suffix minimum of seq over the run, to find the cuts that keep arrival order.
		sufMin = append(sufMin[:0], make([]int64, b-a+1)...)
		sufMin[b-a] = int64(^uint64(0) >> 1)
		for i := b - 1; i >= a; i-- {
			sufMin[i-a] = min(sufMin[i-a+1], seq.at(int(perm[i])))
		}
		pos, prefMax := a, int64(-1<<63)
		for i := a; i < b; i++ {
			prefMax = max(prefMax, seq.at(int(perm[i])))
			if i+1-pos >= target && b-(i+1) >= target/4 && prefMax < sufMin[i+1-a] {
				ends = append(ends, i+1)
				pos = i + 1
			}
		}
		ends = append(ends, b)
		packed, a = b, b
	}
	if packed < len(perm) {
		ends = append(ends, len(perm))
	}
	return ends
}

// sliceMeta returns the metaSlices value for the row groups ends of perm: the slices of every row group of
// one instrument holding more than 2*SliceRows rows.
func (f *fileBuf) sliceMeta(perm []int32, ends []int) string {
	inst, ts, seq := &f.cols[f.instCol].idx, &f.cols[f.tsCol].ints, &f.cols[f.seqCol].ints
	var b strings.Builder
	var tv, sv []int64
	lo := 0
	for rg, hi := range ends {
		one := inst.at(int(perm[lo])) == inst.at(int(perm[hi-1])) // sorted by inst: first == last means one
		if one && hi-lo > 2*SliceRows {
			tv, sv = tv[:0], sv[:0]
			for _, r := range perm[lo:hi] {
				tv, sv = append(tv, ts.at(int(r))), append(sv, seq.at(int(r)))
			}
			formatSlices(&b, rg, SliceCuts(tv, sv, SliceRows))
		}
		lo = hi
	}
	return b.String()
}
