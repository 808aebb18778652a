package parquet

// Row groups: a file's row groups each hold rows sorted by (inst_id, ts, seq), cut so that replay can read
// one row group at a time in time order (see replay's ParquetSource):
//
//   - an instrument with at least min(target/2, 2 × SliceRows) rows in a file gets row groups of its own, each about target
//     rows, cut only where every earlier row of the instrument arrived before every later one (prefix max
//     seq < suffix min seq), so reading its row groups in file order visits its rows in arrival order part by
//     part;
//   - smaller instruments are packed whole into shared row groups at the end of the file (an instrument never
//     spans two of them).
//
// The sink streams: each instrument's rows wait in a buffer of their own until about target + target/4 of
// them have arrived; then the first target rows in (ts, seq) order become a row group, written to the file
// at once, and the rest stay for the next one (the lookahead: a row arriving a little late still sorts into
// its place). A buffer whose rows offer no such cut is cut whole at 2 × target rows. When the sink is over its
// memory budget, the largest buffer is cut early, between half and three quarters of its rows (keeping a
// quarter as lookahead; whole if no cut there keeps arrival order). So a file's row groups interleave instruments in the
// order they filled; each instrument's own row groups keep its arrival order.
//
// Files written this way carry metaRowGroups = rowGroupsByInst. A reader may then read each row group as a
// part and order a file's row groups by their minimum ts: every instrument's row groups keep their file
// order, because their ts ranges do not decrease (as long as a stream's ts does not go back by more than the
// lookahead).

// metaRowGroups is the key-value metadata entry naming the row-group layout of a part file.
const metaRowGroups = "okxtape.row_groups"

// rowGroupsByInst is the layout described above.
const rowGroupsByInst = "by-inst-seq-cut"

// RowGroupsByInst reports whether a file's key-value metadata value of metaRowGroups (nil when absent)
// declares the by-instrument row-group layout.
func RowGroupsByInst(v *string) bool { return v != nil && *v == rowGroupsByInst }

// MetaRowGroups is the metadata key to look the layout up with.
const MetaRowGroups = metaRowGroups

// groupCut returns where the first row group of a sorted buffer ends: the first row i >= from that leaves at
// least keep rows after it, where every row before i arrived before every row from i on (prefix max seq <
// suffix min seq). 0: no such cut. sufMin is scratch.
func groupCut(b *rowBuf, from, keep int, sufMin []int64) (int, []int64) {
	n := b.rows
	from = max(from, 1)
	if n-from < keep || n <= from {
		return 0, sufMin
	}
	seq := b.cols[b.seqCol].ints[:n]
	sufMin = append(sufMin[:0], make([]int64, n-from+1)...)
	sufMin[n-from] = int64(^uint64(0) >> 1)
	for i := n - 1; i >= from; i-- {
		sufMin[i-from] = min(sufMin[i-from+1], seq[i])
	}
	prefMax := int64(-1 << 63)
	for _, s := range seq[:from] {
		prefMax = max(prefMax, s)
	}
	for i := from; n-i >= keep; i++ {
		if prefMax < sufMin[i-from] {
			return i, sufMin
		}
		prefMax = max(prefMax, seq[i])
	}
	return 0, sufMin
}
