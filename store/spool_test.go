package store

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/okxtape/okxtape/internal/storetest"
	"github.com/okxtape/okxtape/schema"
)

// spoolAll appends events and syncs.
func spoolAll(t *testing.T, s *spool, evs []schema.Stored) {
	t.Helper()
	for _, e := range evs {
		if !s.append(e) {
			t.Fatal("append refused")
		}
	}
	if err := s.sync(); err != nil {
		t.Fatal(err)
	}
}

// readSpool reads every record from pos on and decodes it.
func readSpool(t *testing.T, s *spool, pos uint64) []schema.Stored {
	t.Helper()
	rd := newSpoolReader(s, pos, func(err error, _ int) { t.Errorf("corrupt: %v", err) })
	defer rd.close()
	var out []schema.Stored
	for {
		rec, ok, err := rd.next()
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return out
		}
		tb := schema.TableOf(rec.kind)
		e := tb.New()
		if err := schema.DecodeRow(rec.row, e); err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
}

func TestSpoolSegmentsFilesAndMemory(t *testing.T) {
	dir := t.TempDir()
	s, err := openSpool(dir, 4<<10, 1<<20, storetest.Quiet())
	if err != nil {
		t.Fatal(err)
	}
	s.ringMax = 8 << 10 // most records must come back from the files
	evs := storetest.RandEvents(1, 2000)
	for i := 0; i < len(evs); i += 100 {
		spoolAll(t, s, evs[i:i+100])
	}
	if len(s.segs) < 10 {
		t.Fatalf("%d segments", len(s.segs))
	}
	storetest.SameEvents(t, readSpool(t, s, 0), evs)
	// Deleting the first segments: reading from 0 starts at the first one left.
	mid := s.segs[3].start
	if n, err := s.deleteBefore(mid); err != nil || n != 3 {
		t.Fatalf("deleted %d, %v", n, err)
	}
	got := readSpool(t, s, 0)
	if len(got) == 0 || len(got) >= len(evs) || !storetest.EqualRows(got[len(got)-1], evs[len(evs)-1]) {
		t.Fatalf("after delete read %d", len(got))
	}
	if err := s.closeActive(); err != nil {
		t.Fatal(err)
	}
}

func TestSpoolTornTail(t *testing.T) {
	dir := t.TempDir()
	s, err := openSpool(dir, 64<<20, 1<<20, storetest.Quiet())
	if err != nil {
		t.Fatal(err)
	}
	evs := storetest.RandEvents(2, 300)
	spoolAll(t, s, evs[:200])
	s.closeActive()
	seg := s.segPath(0)
	whole, _ := os.ReadFile(seg)
	// kill -9 mid-write: half of the next record, then a record with a bad CRC.
	s.append(evs[200])
	torn := s.pending[:len(s.pending)-3] // one frame in the current block
	f, _ := os.OpenFile(seg, os.O_APPEND|os.O_WRONLY, 0)
	f.Write(torn)
	f.Close()

	s2, err := openSpool(dir, 64<<20, 1<<20, storetest.Quiet())
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(seg); fi.Size() != int64(len(whole)) {
		t.Fatalf("torn tail not cut: %d vs %d", fi.Size(), len(whole))
	}
	storetest.SameEvents(t, readSpool(t, s2, 0), evs[:200])
	spoolAll(t, s2, evs[200:])
	storetest.SameEvents(t, readSpool(t, s2, 0), evs)
	s2.closeActive()

	// A flipped bit in the body of the last record: that record is the torn tail, cut on open.
	b, _ := os.ReadFile(s2.segPath(s2.segs[1].start))
	b[len(b)-2] ^= 0x40
	os.WriteFile(s2.segPath(s2.segs[1].start), b, 0o644)
	s3, err := openSpool(dir, 64<<20, 1<<20, storetest.Quiet())
	if err != nil {
		t.Fatal(err)
	}
	if s3.torn != 1 {
		t.Fatalf("torn tail records %d, want 1", s3.torn)
	}
	storetest.SameEvents(t, readSpool(t, s3, 0), evs[:299])
}

// readDamaged reads every record from 0 and returns them with the records reported lost.
func readDamaged(t *testing.T, s *spool) (got []schema.Stored, lost, reports int) {
	t.Helper()
	rd := newSpoolReader(s, 0, func(_ error, n int) { lost += n; reports++ })
	defer rd.close()
	for {
		rec, ok, err := rd.next()
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return got, lost, reports
		}
		e := schema.TableOf(rec.kind).New()
		if err := schema.DecodeRow(rec.row, e); err != nil {
			t.Fatal(err)
		}
		got = append(got, e)
	}
}

// missing returns the events of want absent from got (by seq) and checks got holds nothing else.
func missing(t *testing.T, got, want []schema.Stored) int {
	t.Helper()
	have := map[uint64]schema.Stored{}
	for _, e := range got {
		have[e.Hdr().Seq] = e
	}
	n := 0
	for _, e := range want {
		g, ok := have[e.Hdr().Seq]
		if !ok {
			n++
			continue
		}
		if !storetest.EqualRows(g, e) {
			t.Fatalf("seq %d read back different", e.Hdr().Seq)
		}
	}
	if len(got) != len(want)-n {
		t.Fatalf("read %d records, %d of them expected", len(got), len(want)-n)
	}
	return n
}

// TestSpoolGarbageMidLastSegment is finding 8: 100 bytes of garbage in the middle of the last segment were
// taken for a torn tail and every good record after them was truncated, with corrupt 0.
func TestSpoolGarbageMidLastSegment(t *testing.T) {
	dir := t.TempDir()
	s, _ := openSpool(dir, 64<<20, 1<<20, storetest.Quiet())
	evs := storetest.RandEvents(4, 2000)
	spoolAll(t, s, evs)
	s.closeActive()
	path := s.segPath(0)
	b, _ := os.ReadFile(path)
	for i := 0; i < 100; i++ {
		b[len(b)/2+i] = byte(i*37 + 11)
	}
	os.WriteFile(path, b, 0o600)
	s2, err := openSpool(dir, 64<<20, 1<<20, storetest.Quiet())
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Size() != int64(len(b)) || s2.torn != 0 {
		t.Fatalf("good records after the damage were cut: size %d of %d, torn %d", fi.Size(), len(b), s2.torn)
	}
	got, lost, reports := readDamaged(t, s2)
	n := missing(t, got, evs)
	if n == 0 || n > 3 || lost != n || reports != 1 {
		t.Fatalf("missing %d records, reported lost %d in %d reports", n, lost, reports)
	}
	// A second reader (another sink) does not count the same damage again.
	if _, lost2, _ := readDamaged(t, s2); lost2 != 0 {
		t.Fatalf("damage counted twice: %d", lost2)
	}
}

// TestSpoolDamageEarlierSegment: damage in a closed segment used to skip the rest of it, counted as 1.
func TestSpoolDamageEarlierSegment(t *testing.T) {
	dir := t.TempDir()
	s, _ := openSpool(dir, 16<<10, 1<<20, storetest.Quiet())
	s.ringMax = 1
	evs := storetest.RandEvents(3, 1000)
	for i := 0; i < len(evs); i += 20 {
		spoolAll(t, s, evs[i:i+20])
	}
	s.closeActive()
	if len(s.segs) < 3 {
		t.Fatalf("%d segments", len(s.segs))
	}
	path := s.segPath(s.segs[1].start)
	b, _ := os.ReadFile(path)
	b[frameHeader+2] ^= 0xff              // the first record's body
	copy(b[len(b)/3:], "\x00\x00garbage") // and one in the middle
	os.WriteFile(path, b, 0o600)
	s2, _ := openSpool(dir, 16<<10, 1<<20, storetest.Quiet())
	got, lost, reports := readDamaged(t, s2)
	n := missing(t, got, evs)
	if n < 2 || n > 4 || lost != n || reports != 2 {
		t.Fatalf("missing %d records, reported lost %d in %d reports", n, lost, reports)
	}
}

func TestSpoolCursors(t *testing.T) {
	dir := t.TempDir()
	if err := saveCursor(dir, "click/house", 42); err != nil {
		t.Fatal(err)
	}
	if err := saveCursor(dir, "parquet", 7); err != nil {
		t.Fatal(err)
	}
	if err := saveCursor(dir, "parquet", 9); err != nil {
		t.Fatal(err)
	}
	c, err := loadCursors(dir)
	if err != nil || c["click/house"] != 42 || c["parquet"] != 9 || len(c) != 2 {
		t.Fatalf("%v %v", c, err)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "*.tmp")); len(m) != 0 {
		t.Fatal("temporary cursor left")
	}
}
