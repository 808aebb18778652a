package parquet

import (
	"fmt"
	"math"
	"sync"

	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"
)

// GroupStats are the footer statistics of one row group that replay prunes and orders by.
type GroupStats struct {
	Index int   // row group index in the file
	Rows  int64 // rows in the row group
	// MinTs, MaxTs bound the ts column (ms); math.MinInt64/math.MaxInt64 when the file has no statistics.
	MinTs, MaxTs int64
	// Insts and Channels bound the inst_id and channel columns (byte-wise); ok false without statistics.
	MinInst, MaxInst, MinChannel, MaxChannel string
	HasInst, HasChannel                      bool
	// Slices are the row group's slices as the writer cut them (nil when it did not; see Slice).
	Slices []Slice
}

// MayHold reports whether the row group may hold rows of inst (when insts is non-empty, one of insts) and of
// one of channels: false only when the statistics prove it holds none.
func (g *GroupStats) MayHold(insts, channels []string) bool {
	return within(insts, g.HasInst, g.MinInst, g.MaxInst) && within(channels, g.HasChannel, g.MinChannel, g.MaxChannel)
}

func within(vals []string, ok bool, lo, hi string) bool {
	if len(vals) == 0 || !ok {
		return true
	}
	for _, v := range vals {
		if v >= lo && v <= hi {
			return true
		}
	}
	return false
}

// Footer is a part file's footer as read by FileFooter. Its parsed form is kept only while opens of the file
// are announced (Keep), so a long replay does not hold every file's footer: Release drops it after listing,
// and the first of the readers announced next parses it again for the others.
type Footer struct {
	Path string
	mu   sync.Mutex
	md   *metadata.FileMetaData
	uses int
}

// Keep announces n more opens (OpenRowsOf, TsSeqOf) of the file: the parsed footer is kept until the last.
func (f *Footer) Keep(n int) {
	f.mu.Lock()
	f.uses += n
	f.mu.Unlock()
}

// Release drops the parsed footer (it is parsed again by the next open) and forgets the announced opens.
func (f *Footer) Release() {
	f.mu.Lock()
	f.md, f.uses = nil, 0
	f.mu.Unlock()
}

// Forget forgets the announced opens but keeps the parsed footer for the next ones announced (Keep): for a
// caller that can afford to hold it from listing to reading instead of parsing it twice.
func (f *Footer) Forget() {
	f.mu.Lock()
	f.uses = 0
	f.mu.Unlock()
}

// Size is the length of the footer as stored in the file (0 once it is dropped), a measure of what holding
// it parsed costs.
func (f *Footer) Size() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.md == nil {
		return 0
	}
	return f.md.Size()
}

// FileStats reads a part file's footer: its row groups' statistics and whether it uses the by-instrument
// row-group layout (rowgroups.go), under which its row groups may be read one by one in MinTs order.
func FileStats(path string) (groups []GroupStats, byInst bool, err error) {
	groups, byInst, _, err = FileFooter(path)
	return groups, byInst, err
}

// FileFooter is FileStats that also returns the parsed footer, for OpenRowsOf and TsSeqOf.
func FileFooter(path string) (groups []GroupStats, byInst bool, ft *Footer, err error) {
	return fileFooter(path, true)
}

// fileFooter is FileFooter; summaries false ignores the metaGroups entry and reads the column statistics
// (the tests compare the two).
func fileFooter(path string, summaries bool) (groups []GroupStats, byInst bool, ft *Footer, err error) {
	r, err := file.OpenParquetFile(path, false)
	if err != nil {
		return nil, false, nil, fmt.Errorf("open parquet %s: %w", path, err)
	}
	defer r.Close()
	md := r.MetaData()
	ft = &Footer{Path: path, md: md}
	byInst = RowGroupsByInst(md.KeyValueMetadata().FindValue(metaRowGroups))
	tsCol := md.Schema.ColumnIndexByName("ts")
	if tsCol < 0 {
		return nil, false, nil, fmt.Errorf("parquet %s: no ts column: %w", path, ErrIncompatibleFile)
	}
	instCol, chCol := md.Schema.ColumnIndexByName("inst_id"), md.Schema.ColumnIndexByName("channel")
	var slices map[int][]Slice
	if v := md.KeyValueMetadata().FindValue(metaSlices); v != nil && byInst {
		slices = parseSlices(*v)
	}
	var bounds map[int]groupMeta
	if v := md.KeyValueMetadata().FindValue(metaGroups); v != nil && summaries {
		bounds = parseGroups(*v, md.NumRowGroups())
	}
	for i := 0; i < md.NumRowGroups(); i++ {
		rg := md.RowGroup(i)
		g := GroupStats{Index: i, Rows: rg.NumRows(), MinTs: math.MinInt64, MaxTs: math.MaxInt64}
		if m, ok := bounds[i]; ok {
			m.apply(&g)
		} else {
			groupStatsOf(&g, rg, tsCol, instCol, chCol)
		}
		if sl := slices[i]; len(sl) > 0 && int64(sl[len(sl)-1].End) == g.Rows {
			g.Slices = sl
		}
		groups = append(groups, g)
	}
	return groups, byInst, ft, nil
}

// open opens the file, with its parsed footer when it is kept.
func (f *Footer) open() (*file.Reader, chunkSource, error) {
	f.mu.Lock()
	md := f.md
	f.mu.Unlock()
	pf, src, err := openFile(f.Path, md)
	if err != nil {
		return nil, chunkSource{}, err
	}
	f.mu.Lock()
	if f.uses > 0 {
		f.uses--
	}
	if f.uses > 0 {
		f.md = pf.MetaData()
	} else {
		f.md = nil
	}
	f.mu.Unlock()
	return pf, src, nil
}

// groupStatsOf sets g's bounds from the column statistics of row group rg (columns tsCol, instCol, chCol;
// -1 when absent).
func groupStatsOf(g *GroupStats, rg *metadata.RowGroupMetaData, tsCol, instCol, chCol int) {
	if st := colStats(rg, tsCol); st != nil {
		if is, ok := st.(*metadata.Int64Statistics); ok {
			g.MinTs, g.MaxTs = is.Min(), is.Max()
		}
	}
	g.MinInst, g.MaxInst, g.HasInst = byteStats(rg, instCol)
	g.MinChannel, g.MaxChannel, g.HasChannel = byteStats(rg, chCol)
}

func colStats(rg *metadata.RowGroupMetaData, col int) metadata.TypedStatistics {
	if col < 0 {
		return nil
	}
	cc, err := rg.ColumnChunk(col)
	if err != nil {
		return nil
	}
	return chunkStats(cc)
}

// chunkStats returns a column chunk's statistics when they hold a min and a max.
func chunkStats(cc *metadata.ColumnChunkMetaData) metadata.TypedStatistics {
	if ok, _ := cc.StatsSet(); !ok {
		return nil
	}
	st, err := cc.Statistics()
	if err != nil || st == nil || !st.HasMinMax() {
		return nil
	}
	return st
}

func byteStats(rg *metadata.RowGroupMetaData, col int) (lo, hi string, ok bool) {
	return byteStatsOf(colStats(rg, col))
}

// byteStatsOf returns the bounds of byte-array statistics st of a column chunk without nulls.
func byteStatsOf(st metadata.TypedStatistics) (lo, hi string, ok bool) {
	if st == nil || st.NullCount() > 0 {
		return "", "", false
	}
	bs, isBA := st.(*metadata.ByteArrayStatistics)
	if !isBA {
		return "", "", false
	}
	return string(bs.Min()), string(bs.Max()), true
}
