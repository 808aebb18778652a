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
	rd := newSpoolReader(s, pos, func(err error) { t.Errorf("corrupt: %v", err) })
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

	// A flipped bit in the body: cut from there on open.
	b, _ := os.ReadFile(s2.segPath(s2.segs[1].start))
	b[len(b)/2] ^= 0x40
	os.WriteFile(s2.segPath(s2.segs[1].start), b, 0o644)
	s3, err := openSpool(dir, 64<<20, 1<<20, storetest.Quiet())
	if err != nil {
		t.Fatal(err)
	}
	if got := readSpool(t, s3, 0); len(got) < 200 || len(got) >= 300 {
		t.Fatalf("read %d after corruption", len(got))
	}
}

func TestSpoolCorruptMiddleSegmentSkipped(t *testing.T) {
	dir := t.TempDir()
	s, _ := openSpool(dir, 2<<10, 1<<20, storetest.Quiet())
	s.ringMax = 1
	evs := storetest.RandEvents(3, 400)
	for i := 0; i < len(evs); i += 20 {
		spoolAll(t, s, evs[i:i+20])
	}
	s.closeActive()
	path := s.segPath(s.segs[1].start)
	b, _ := os.ReadFile(path)
	b[frameHeader+2] ^= 0xff
	os.WriteFile(path, b, 0o644)
	s2, _ := openSpool(dir, 2<<10, 1<<20, storetest.Quiet())
	rd := newSpoolReader(s2, 0, nil)
	bad := 0
	rd.corrupt = func(error) { bad++ }
	n := 0
	for {
		_, ok, err := rd.next()
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		n++
	}
	rd.close()
	if bad != 1 || n >= len(evs) || n < len(evs)/2 {
		t.Fatalf("bad=%d read=%d", bad, n)
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
