package parquet

import (
	"strconv"
	"strings"
)

// metaGroups is the key-value metadata entry that summarises a file's row groups for replay's pruning and
// ordering: one line per row group, "<row group> <minTs> <maxTs> <min inst_id> <max inst_id> <min channel>
// <max channel>", with "-" for a column the table does not have. It holds what the column statistics of ts,
// inst_id and channel hold; FileFooter reads it instead of them because arrow-go builds a statistics object
// (with an encoder and its buffers) for every column chunk asked, which was a third of a footer's reading
// time and most of its allocations, and that is most of a selective replay's fixed cost. A row group whose
// values cannot be written this way (an empty or blank string) has no line, and its statistics are read.
const metaGroups = "okxtape.groups"

// noColumn stands for a column the table does not have in a metaGroups line.
const noColumn = "-"

// groupMeta is one metaGroups line.
type groupMeta struct {
	minTs, maxTs           int64
	minInst, maxInst       string
	minChannel, maxChannel string
	hasInst, hasChannel    bool // false: the table has no such column
}

// groupBounds computes a row group's metaGroups line from rows lo..hi-1 of b; ok is false when it cannot be
// written (no rows, no ts column, or a string the format cannot carry).
func groupBounds(b *rowBuf, chCol, lo, hi int) (g groupMeta, ok bool) {
	if hi <= lo || b.tsCol < 0 {
		return g, false
	}
	ts := b.cols[b.tsCol].ints[lo:hi]
	g.minTs, g.maxTs = ts[0], ts[0]
	for _, t := range ts {
		g.minTs, g.maxTs = min(g.minTs, t), max(g.maxTs, t)
	}
	if g.minInst, g.maxInst, ok = strBounds(b, b.instCol, lo, hi); !ok {
		return g, false
	}
	if g.minChannel, g.maxChannel, ok = strBounds(b, chCol, lo, hi); !ok {
		return g, false
	}
	return g, true
}

// strBounds returns the byte-wise bounds of string column col over rows lo..hi-1 (noColumn when col < 0).
func strBounds(b *rowBuf, col, lo, hi int) (lo2, hi2 string, ok bool) {
	if col < 0 {
		return noColumn, noColumn, true
	}
	c := &b.cols[col]
	lo2, hi2 = c.str(lo), c.str(lo)
	for i := lo + 1; i < hi; i++ {
		if s := c.str(i); s < lo2 {
			lo2 = s
		} else if s > hi2 {
			hi2 = s
		}
	}
	return lo2, hi2, plainToken(lo2) && plainToken(hi2)
}

// plainToken reports whether s can stand as one field of a metaGroups line.
func plainToken(s string) bool {
	return s != "" && s != noColumn && !strings.ContainsAny(s, " \t\r\n")
}

// formatGroup appends row group rg's line to a metaGroups value.
func formatGroup(b *strings.Builder, rg int, g groupMeta) {
	if b.Len() > 0 {
		b.WriteByte('\n')
	}
	b.WriteString(strconv.Itoa(rg))
	for _, f := range []string{strconv.FormatInt(g.minTs, 10), strconv.FormatInt(g.maxTs, 10),
		g.minInst, g.maxInst, g.minChannel, g.maxChannel} {
		b.WriteByte(' ')
		b.WriteString(f)
	}
}

// parseGroups decodes a metaGroups value of a file with groups row groups; a malformed value (a line that
// does not parse, a row group out of range or listed twice, bounds out of order) yields nil, and the
// reader then reads the statistics.
func parseGroups(v string, groups int) map[int]groupMeta {
	out := map[int]groupMeta{}
	for line := range strings.SplitSeq(v, "\n") {
		f := strings.Fields(line)
		if len(f) != 7 {
			return nil
		}
		rg, e1 := strconv.Atoi(f[0])
		lo, e2 := strconv.ParseInt(f[1], 10, 64)
		hi, e3 := strconv.ParseInt(f[2], 10, 64)
		if e1 != nil || e2 != nil || e3 != nil || rg < 0 || rg >= groups || lo > hi {
			return nil
		}
		if _, dup := out[rg]; dup {
			return nil
		}
		g := groupMeta{minTs: lo, maxTs: hi, minInst: f[3], maxInst: f[4], minChannel: f[5], maxChannel: f[6]}
		var ok bool
		if g.hasInst, ok = fieldPair(f[3], f[4]); !ok {
			return nil
		}
		if g.hasChannel, ok = fieldPair(f[5], f[6]); !ok {
			return nil
		}
		out[rg] = g
	}
	return out
}

// fieldPair checks a min/max pair of a metaGroups line: both noColumn (the table has no such column) or
// lo <= hi.
func fieldPair(lo, hi string) (has, ok bool) {
	if lo == noColumn || hi == noColumn {
		return false, lo == hi
	}
	return true, lo <= hi
}

// apply sets g's bounds on the row group's stats.
func (m groupMeta) apply(g *GroupStats) {
	g.MinTs, g.MaxTs = m.minTs, m.maxTs
	if m.hasInst {
		g.MinInst, g.MaxInst, g.HasInst = m.minInst, m.maxInst, true
	}
	if m.hasChannel {
		g.MinChannel, g.MaxChannel, g.HasChannel = m.minChannel, m.maxChannel, true
	}
}
