package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/okxtape/okxtape/schema"
)

// spoolRecord is one record read back from the spool. row is valid until the next call to next.
type spoolRecord struct {
	pos  uint64
	size int
	kind schema.Kind
	row  []byte
}

// spoolReader reads durable records in order from one position on: from the in-memory ring of recent
// chunks when caught up, from the segment files when behind (after an outage, at startup recovery).
// It is used by one goroutine.
type spoolReader struct {
	s        *spool
	pos      uint64
	blk      []byte
	blkStart uint64
	verify   bool // blk comes from a file: check CRCs
	blkEOF   bool // blk reaches the readable limit of its segment
	f        *os.File
	fStart   uint64
	fileBuf  []byte
	corrupt  func(err error, lost int) // a damaged region was skipped (each region reported once per spool)
}

func newSpoolReader(s *spool, pos uint64, corrupt func(error, int)) *spoolReader {
	return &spoolReader{s: s, pos: pos, corrupt: corrupt}
}

func (r *spoolReader) close() {
	if r.f != nil {
		r.f.Close()
		r.f = nil
	}
}

// next returns the next record, or ok=false when every durable record has been read.
func (r *spoolReader) next() (rec spoolRecord, ok bool, err error) {
	need := 0
	for {
		if r.pos >= r.blkStart && r.pos < r.blkStart+uint64(len(r.blk)) {
			b := r.blk[r.pos-r.blkStart:]
			n, st := checkFrame(b, r.verify)
			switch {
			case st == frameOK:
				rec = spoolRecord{pos: r.pos, size: n, kind: schema.Kind(b[frameHeader]), row: b[frameHeader+1 : n]}
				r.pos += uint64(n)
				return rec, true, nil
			case st == frameShort && r.verify && !r.blkEOF:
				need = frameHeader + 1
				if len(b) >= 8 {
					need = frameHeader + int(binary.LittleEndian.Uint32(b[4:]))
				}
				r.blk = nil
			default:
				if err := r.resync(); err != nil {
					return rec, false, err
				}
				continue
			}
		}
		more, err := r.refill(need)
		need = 0
		if err != nil || !more {
			return rec, false, err
		}
	}
}

// resync skips a damaged region: from r.pos (where a frame fails its checks) to the next frame of the same
// segment that passes them, or to the segment's end. The frame markers skipped are counted as records lost.
func (r *spoolReader) resync() error {
	from := r.pos
	r.s.mu.Lock()
	to := r.s.end
	var seg segment
	found := false
	for _, g := range r.s.segs {
		if g.start <= from && from < g.end() {
			seg, to, found = g, min(g.end(), r.s.end), true
			break
		}
	}
	r.s.mu.Unlock()
	r.blk = nil
	buf := make([]byte, max(to, from)-from)
	if found && len(buf) > 0 {
		f, err := os.Open(r.s.segPath(seg.start))
		if err != nil {
			return fmt.Errorf("open spool segment: %w", err)
		}
		_, err = f.ReadAt(buf, int64(from-seg.start))
		f.Close()
		if err != nil {
			return fmt.Errorf("read spool segment: %w", err)
		}
	}
	skip := len(buf)
	if next := findFrame(buf, 1); next > 0 {
		skip = next
	}
	lost := max(1, countLost(buf[:skip]))
	r.pos = from + uint64(skip)
	if r.s.noteLost(from, lost) && r.corrupt != nil {
		r.corrupt(fmt.Errorf("spool damaged at position %d: %d bytes skipped to the next good record, about %d records lost",
			from, skip, lost), lost)
	}
	return nil
}

// refill points blk at the bytes at r.pos (at least need bytes when reading a file). It returns false when
// r.pos is at the durable end.
func (r *spoolReader) refill(need int) (bool, error) {
	s := r.s
	s.mu.Lock()
	end := s.end
	if r.pos >= end {
		s.mu.Unlock()
		return false, nil
	}
	if n := len(s.ring); n > 0 && r.pos >= s.ring[0].start {
		i := sort.Search(n, func(i int) bool { return s.ring[i].start+uint64(len(s.ring[i].data)) > r.pos })
		if i < n {
			c := s.ring[i]
			s.mu.Unlock()
			r.blk, r.blkStart, r.verify, r.blkEOF = c.data, c.start, false, true
			return true, nil
		}
	}
	var g segment
	found := false
	for _, sg := range s.segs {
		if sg.end() > r.pos {
			g, found = sg, true
			break
		}
	}
	s.mu.Unlock()
	if !found {
		r.pos = end
		return false, nil
	}
	if g.start > r.pos { // records before the first segment on disk were deleted as durable everywhere
		r.pos = g.start
	}
	limit := min(g.end(), end)
	if r.f == nil || r.fStart != g.start {
		r.close()
		f, err := os.Open(s.segPath(g.start))
		if err != nil {
			return false, fmt.Errorf("open spool segment: %w", err)
		}
		r.f, r.fStart = f, g.start
	}
	size := max(1<<20, need)
	size = int(min(uint64(size), limit-r.pos))
	if cap(r.fileBuf) < size {
		r.fileBuf = make([]byte, size)
	}
	buf := r.fileBuf[:size]
	n, err := r.f.ReadAt(buf, int64(r.pos-g.start))
	if err != nil && !(errors.Is(err, io.EOF) && n == size) {
		if errors.Is(err, io.EOF) {
			return false, fmt.Errorf("spool segment %d shorter than expected", g.start)
		}
		return false, fmt.Errorf("read spool segment: %w", err)
	}
	r.blk, r.blkStart, r.verify = buf[:n], r.pos, true
	r.blkEOF = r.pos+uint64(n) >= limit
	return true, nil
}

// Cursor files: one per sink, "cursor-<sink>.json", written atomically (temp file, fsync, rename, fsync dir).
type cursorFile struct {
	Sink string `json:"sink"`
	Pos  uint64 `json:"pos"`
}

func cursorPath(dir, sink string) string {
	clean := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' {
			return r
		}
		return '_'
	}, sink)
	return filepath.Join(dir, "cursor-"+clean+".json")
}

// loadCursors reads every cursor file. A file that cannot be read or parsed is returned in bad (reported and
// ignored by the caller: its sink starts from the first spooled record), never a reason to delete anything.
func loadCursors(dir string) (cur map[string]uint64, bad []error) {
	files, err := filepath.Glob(filepath.Join(dir, "cursor-*.json"))
	if err != nil {
		return nil, []error{err}
	}
	cur = map[string]uint64{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			bad = append(bad, fmt.Errorf("read spool cursor: %w", err))
			continue
		}
		var c cursorFile
		if err := json.Unmarshal(b, &c); err != nil || c.Sink == "" {
			bad = append(bad, fmt.Errorf("parse spool cursor %s: %v", f, err))
			continue
		}
		cur[c.Sink] = c.Pos
	}
	return cur, bad
}

func saveCursor(dir, sink string, pos uint64) error {
	b, _ := json.Marshal(cursorFile{Sink: sink, Pos: pos})
	path := cursorPath(dir, sink)
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("write spool cursor: %w", err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil {
		err = SyncDir(dir)
	}
	if err != nil {
		return fmt.Errorf("write spool cursor: %w", err)
	}
	return nil
}
