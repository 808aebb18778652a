package parquet

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/parquet/file"

	"github.com/okxtape/okxtape/internal/storetest"
	"github.com/okxtape/okxtape/schema"
)

// TestGroupSummariesMatchStatistics: the row-group bounds FileFooter takes from the writer's metaGroups entry
// are exactly those the column statistics give (own and packed row groups, several channels in one row
// group), and a row group whose channel cannot be written in the entry falls back to its statistics.
func TestGroupSummariesMatchStatistics(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 7))
	channels := []string{"books", "books5", "bbo-tbt"}
	rows := map[string]int{"BTC-USDT": 3*SliceRows + 17, "ETH-USDT": 2*SliceRows + 1, "ZZ-A": 40, "ZZ-B": 70, "ZZ C": 30}
	var evs []schema.Stored
	seq := uint64(1)
	for inst, n := range rows {
		for i := range n {
			e := storetest.RandEvent(r, schema.BookTable, seq, storetest.Day0+int64(i)+r.Int64N(5))
			e.Hdr().InstID, e.Hdr().Channel = inst, channels[r.IntN(len(channels))]
			if inst == "ZZ C" {
				e.Hdr().Channel = "bad channel" // not a metaGroups token
			}
			evs = append(evs, e)
			seq++
		}
	}
	path := writeOneFile(t, schema.BookTable, evs)
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	v := pf.MetaData().KeyValueMetadata().FindValue(metaGroups)
	n := pf.NumRowGroups()
	pf.Close()
	if v == nil {
		t.Fatalf("no %s entry", metaGroups)
	}
	lines := strings.Count(*v, "\n") + 1
	if lines >= n || lines < n-1 || !strings.Contains(*v, " BTC-USDT BTC-USDT ") {
		t.Errorf("%d row groups, %d summary lines (want all but the one holding \"ZZ C\"):\n%s", n, lines, *v)
	}
	fast, byInst1, _, err1 := fileFooter(path, true)
	slow, byInst2, _, err2 := fileFooter(path, false)
	if err1 != nil || err2 != nil || !byInst1 || !byInst2 {
		t.Fatalf("footers: %v, %v (by-inst %v %v)", err1, err2, byInst1, byInst2)
	}
	if !reflect.DeepEqual(fast, slow) {
		t.Errorf("bounds from %s differ from the statistics:\n%+v\n%+v", metaGroups, fast, slow)
	}
	for _, g := range fast {
		if !g.HasInst || !g.HasChannel || g.MinChannel > g.MaxChannel {
			t.Errorf("row group %d: %+v", g.Index, g)
		}
	}
}

func TestParseGroups(t *testing.T) {
	for _, c := range []struct {
		name, v string
		groups  int
		want    map[int]groupMeta
	}{
		{"one", "0 5 9 A B books books5", 1, map[int]groupMeta{0: {minTs: 5, maxTs: 9, minInst: "A", maxInst: "B",
			minChannel: "books", maxChannel: "books5", hasInst: true, hasChannel: true}}},
		{"no channel column", "1 5 5 A A - -", 2, map[int]groupMeta{1: {minTs: 5, maxTs: 5, minInst: "A", maxInst: "A",
			minChannel: "-", maxChannel: "-", hasInst: true}}},
		{"half a missing column", "0 5 5 A A - books", 1, nil},
		{"out of range", "1 5 9 A B c c", 1, nil},
		{"twice", "0 5 9 A B c c\n0 5 9 A B c c", 1, nil},
		{"ts reversed", "0 9 5 A B c c", 1, nil},
		{"inst reversed", "0 5 9 B A c c", 1, nil},
		{"short", "0 5 9 A B c", 1, nil},
		{"not a number", "0 5 x A B c c", 1, nil},
		{"empty", "", 1, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := parseGroups(c.v, c.groups); !reflect.DeepEqual(got, c.want) {
				t.Errorf("parseGroups(%q) = %+v, want %+v", c.v, got, c.want)
			}
		})
	}
}

func FuzzParseGroups(f *testing.F) {
	f.Add("0 5 9 A B books books5\n1 1 2 - - - -", 2)
	f.Add("0 -9 9 A A c c", 1)
	f.Fuzz(func(t *testing.T, v string, groups int) {
		for rg, g := range parseGroups(v, groups) {
			if rg < 0 || rg >= groups || g.minTs > g.maxTs || g.hasInst && g.minInst > g.maxInst ||
				g.hasChannel && g.minChannel > g.maxChannel {
				t.Fatalf("parseGroups(%q, %d) accepted row group %d: %+v", v, groups, rg, g)
			}
		}
	})
}
