package store

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/okxtape/okxtape/internal/storetest"
	"github.com/okxtape/okxtape/schema"
)

// FuzzSpoolReader damages a segment of known records (overwrites bytes at an offset, optionally cuts the
// file) and reads the spool back: it must never fail or panic, every record the damage did not touch must
// come back unchanged, and a record missing must be reported (lost to damage or cut as a torn tail).
func FuzzSpoolReader(f *testing.F) {
	f.Add(uint16(500), []byte("garbage"), uint16(0))
	f.Add(uint16(0), []byte{0xf1, 'O', 'K', 'X', 0xff, 0xff, 0, 0}, uint16(0))
	f.Add(uint16(3000), []byte{0xf1, 'O', 'K', 'X', 4, 0, 0, 0, 1, 2, 3, 4}, uint16(100))
	f.Add(uint16(1234), make([]byte, 300), uint16(7))
	f.Fuzz(fuzzSpool)
}

var fuzzEvents = storetest.RandEvents(7, 60)

// fuzzSegment is the segment file holding fuzzEvents, written once by a real spool.
var fuzzSegment = sync.OnceValue(func() []byte {
	dir, err := os.MkdirTemp("", "okxtape-fuzz")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	s, err := openSpool(dir, 64<<20, 1<<20, storetest.Quiet())
	if err != nil {
		panic(err)
	}
	for _, e := range fuzzEvents {
		s.append(e)
	}
	if err := s.sync(); err != nil {
		panic(err)
	}
	s.closeActive()
	b, err := os.ReadFile(s.segPath(0))
	if err != nil {
		panic(err)
	}
	return b
})

// fuzzDir is one folder per fuzzing process, reused by every input (t.TempDir per input slows fuzzing to a crawl).
var fuzzDir = sync.OnceValue(func() string {
	dir, err := os.MkdirTemp("", "okxtape-fuzz")
	if err != nil {
		panic(err)
	}
	return dir
})

func fuzzSpool(t *testing.T, at uint16, dmg []byte, cut uint16) {
	evs := fuzzEvents
	dir := fuzzDir()
	path := filepath.Join(dir, "seg-00000000000000000000.wal")
	orig := fuzzSegment()
	b := append([]byte(nil), orig...)
	off := int(at) % len(b)
	n := copy(b[off:], dmg)
	size := len(b) - int(cut)%(len(b)/4+1)
	b = b[:size]
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	s2, err := openSpool(dir, 64<<20, 1<<20, storetest.Quiet())
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	got, lost, _ := readDamaged(t, s2)
	have := map[uint64]schema.Stored{}
	for _, e := range got {
		have[e.Hdr().Seq] = e
	}
	missed := 0
	pos := 0
	for _, e := range evs {
		fl, st := checkFrame(orig[pos:], true)
		if st != frameOK {
			t.Fatalf("original frame at %d: %v", pos, st)
		}
		touched := pos < off+n && off < pos+fl || pos+fl > size
		g, ok := have[e.Hdr().Seq]
		switch {
		case ok && !storetest.EqualRows(g, e):
			t.Fatalf("seq %d read back different", e.Hdr().Seq)
		case !ok && !touched:
			t.Fatalf("seq %d at %d..%d lost, damage at %d..%d, size %d", e.Hdr().Seq, pos, pos+fl, off, off+n, size)
		case !ok:
			missed++
		}
		pos += fl
	}
	if missed > 0 && lost+s2.torn == 0 {
		t.Fatalf("%d records missing, none reported", missed)
	}
	if len(got)+missed != len(evs) {
		t.Fatalf("read %d + missing %d != %d (a record read twice or invented)", len(got), missed, len(evs))
	}
}
