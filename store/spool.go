package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/okxtape/okxtape/schema"
)

// The spool is the recorder's write-ahead log. Every accepted event is encoded (schema.AppendRow) into an
// in-memory buffer; a sync goroutine appends that buffer to the current segment file and fsyncs it every
// SyncInterval. Records are framed
//
//	[magic "\xf1OKX"][len uint32 LE][crc32c uint32 LE][kind uint8][row bytes]   (len counts kind+row, crc covers kind+row)
//
// A record's position is a byte offset in one stream that runs across segments: a segment file is named
// seg-<start>.wal after the position of its first record, and records never span segments. Sinks keep a
// cursor (the position from which they still need records); a segment is deleted when every sink's cursor
// has passed its end. A torn last record (kill -9 mid-write) fails its length/CRC check and is cut off when
// the spool is opened. Damage anywhere else (a bad disk block, a stray write) costs only the records it
// touches: a reader that meets a frame failing its checks resyncs at the next magic that starts a frame
// passing them, and counts the frame markers it skipped as records lost. Segment and cursor files are 0600:
// the spool holds private datasets too.

const (
	frameHeader  = 12 // magic + len + crc; the body (kind + row) follows
	maxFrameBody = 256 << 20
	segPrefix    = "seg-"
	segSuffix    = ".wal"
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// frameMagic starts every frame; resync after damage searches for it.
var frameMagic = [4]byte{0xf1, 'O', 'K', 'X'}

type segment struct {
	start uint64
	size  int64
}

func (g segment) end() uint64 { return g.start + uint64(g.size) }

type chunk struct {
	start uint64
	data  []byte // whole frames; immutable once published
}

type spool struct {
	dir       string
	segMax    int64
	ringMax   int
	bufferMax int
	log       *slog.Logger

	mu        sync.Mutex
	pending   []byte   // block being filled with encoded frames, not yet handed to the sync goroutine
	sealed    [][]byte // full blocks waiting for the sync goroutine
	queued    int      // bytes in sealed + pending
	writing   int      // bytes taken by the sync goroutine and not yet durable
	segs      []segment
	active    bool   // the last segment is open for appending
	end       uint64 // position after the last durable record
	ring      []chunk
	ringBytes int
	diskBytes int64
	wakers    []chan struct{}
	blockSize int // capacity of the next block
	enc       schema.Encoder
	torn      int            // frame markers cut off as a torn tail at open
	lost      map[uint64]int // damaged regions found by readers: start position → records lost

	// owned by the sync goroutine
	f     *os.File
	retry [][]byte
}

// spoolBlock is the largest size of the in-memory blocks frames are encoded into. Blocks are never grown by
// copying: a full block is sealed and a new one started, and each block is later published to readers as it
// is. A block is handed to the sync goroutine every SyncInterval however full, so blocks are sized to about
// twice what one interval brought (between minSpoolBlock and spoolBlock): the ring, which keeps them as
// they are, then holds little unused capacity.
const (
	spoolBlock    = 1 << 20
	minSpoolBlock = 128 << 10
)

// openSpool opens or creates the spool in dir, cutting off a torn tail of the last segment.
func openSpool(dir string, segMax int64, bufferMax int, log *slog.Logger) (*spool, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create spool dir: %w", err)
	}
	s := &spool{dir: dir, segMax: segMax, ringMax: 8 << 20, bufferMax: bufferMax, log: log}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read spool dir: %w", err)
	}
	for _, e := range ents {
		name := e.Name()
		if !strings.HasPrefix(name, segPrefix) || !strings.HasSuffix(name, segSuffix) {
			continue
		}
		start, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(name, segPrefix), segSuffix), 10, 64)
		if err != nil {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			return nil, fmt.Errorf("stat spool segment: %w", err)
		}
		s.segs = append(s.segs, segment{start: start, size: fi.Size()})
	}
	sort.Slice(s.segs, func(i, j int) bool { return s.segs[i].start < s.segs[j].start })
	if n := len(s.segs); n > 0 {
		last := &s.segs[n-1]
		valid, torn, err := scanTail(s.segPath(last.start))
		if err != nil {
			return nil, err
		}
		if valid < last.size {
			log.Warn("spool: cut torn tail of last segment (records written in the instant before a crash)",
				"segment", s.segPath(last.start), "bytes", last.size-valid, "records", torn)
			if err := os.Truncate(s.segPath(last.start), valid); err != nil {
				return nil, fmt.Errorf("truncate torn spool segment: %w", err)
			}
			last.size = valid
			s.torn = torn
		}
		s.end = last.end()
	}
	for _, g := range s.segs {
		s.diskBytes += g.size
	}
	metricSpoolBytes.Set(float64(s.diskBytes))
	return s, nil
}

func (s *spool) segPath(start uint64) string {
	return filepath.Join(s.dir, fmt.Sprintf("%s%020d%s", segPrefix, start, segSuffix))
}

// scanTail returns the end of the last whole, CRC-valid frame of a segment file (resyncing over damage in
// the middle, which readers report) and how many frame markers lie after it (a torn tail).
func scanTail(path string) (valid int64, torn int, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, fmt.Errorf("read spool segment: %w", err)
	}
	off, end := 0, 0
	for off < len(b) {
		n, st := checkFrame(b[off:], true)
		if st == frameOK {
			off += n
			end = off
			continue
		}
		next := findFrame(b, off+1)
		if next < 0 {
			break
		}
		off = next
	}
	if end < len(b) {
		torn = countLost(b[end:])
	}
	return int64(end), torn, nil
}

// findFrame returns the offset of the first frame at or after from that passes every check, or -1.
func findFrame(b []byte, from int) int {
	for from < len(b) {
		i := bytes.Index(b[from:], frameMagic[:])
		if i < 0 {
			return -1
		}
		p := from + i
		if _, st := checkFrame(b[p:], true); st == frameOK {
			return p
		}
		from = p + 1
	}
	return -1
}

// countLost estimates how many records a damaged region held. Records are contiguous, so it walks the
// region by the length fields that are still readable (a record whose header survived counts once and its
// extent is skipped); each stretch without a readable header up to the next frame marker counts as one
// record whose start was destroyed.
func countLost(b []byte) int {
	n := 0
	for p := 0; p < len(b); {
		n++
		if len(b)-p >= 8 && bytes.HasPrefix(b[p:], frameMagic[:]) {
			if l := binary.LittleEndian.Uint32(b[p+4:]); l > 0 && l <= maxFrameBody && p+frameHeader+int(l) <= len(b) {
				p += frameHeader + int(l)
				continue
			}
		}
		i := bytes.Index(b[p+1:], frameMagic[:])
		if i < 0 {
			break
		}
		p += 1 + i
	}
	return n
}

type frameStatus uint8

const (
	frameOK frameStatus = iota
	frameShort
	frameBad
)

// checkFrame reports whether b starts with a whole frame and returns its length. A prefix that cannot start
// a frame is frameBad; one that may be a frame cut short is frameShort.
func checkFrame(b []byte, verify bool) (int, frameStatus) {
	if !bytes.HasPrefix(b, frameMagic[:min(len(b), 4)]) {
		return 0, frameBad
	}
	if len(b) < 8 {
		return 0, frameShort
	}
	l := binary.LittleEndian.Uint32(b[4:])
	if l == 0 || l > maxFrameBody {
		return 0, frameBad
	}
	n := frameHeader + int(l)
	if len(b) < n {
		return 0, frameShort
	}
	if verify && crc32.Checksum(b[frameHeader:n], crcTable) != binary.LittleEndian.Uint32(b[8:]) {
		return 0, frameBad
	}
	return n, frameOK
}

// setFloor makes positions continue after floor when the spool has no segments (all deleted as durable):
// cursors must keep increasing across restarts.
func (s *spool) setFloor(floor uint64) {
	s.mu.Lock()
	if len(s.segs) == 0 && floor > s.end {
		s.end = floor
	}
	s.mu.Unlock()
}

// append encodes e as one frame. It returns false (and appends nothing) when the unsynced buffer is full.
func (s *spool) append(e schema.Stored) bool {
	s.mu.Lock()
	if s.queued+s.writing >= s.bufferMax {
		s.mu.Unlock()
		return false
	}
	if cap(s.pending)-len(s.pending) < 64<<10 {
		if len(s.pending) > 0 {
			s.sealed = append(s.sealed, s.pending)
		}
		s.pending = make([]byte, 0, max(s.blockSize, minSpoolBlock))
	}
	start := len(s.pending)
	b := s.enc.Append(append(s.pending, frameMagic[0], frameMagic[1], frameMagic[2], frameMagic[3],
		0, 0, 0, 0, 0, 0, 0, 0, byte(e.Kind())), e)
	body := b[start+frameHeader:]
	binary.LittleEndian.PutUint32(b[start+4:], uint32(len(body)))
	binary.LittleEndian.PutUint32(b[start+8:], crc32.Checksum(body, crcTable))
	s.queued += len(b) - start
	s.pending = b
	s.mu.Unlock()
	return true
}

// unsynced returns the bytes accepted but not yet durable.
func (s *spool) unsynced() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.queued + s.writing
}

// sync writes and fsyncs everything appended so far, then publishes it to readers. Only the sync goroutine
// (or Close, after it stopped) calls it.
func (s *spool) sync() error {
	s.mu.Lock()
	blocks := append(s.retry, s.sealed...)
	if len(s.pending) > 0 {
		blocks = append(blocks, s.pending)
	}
	s.retry, s.sealed, s.pending = nil, nil, nil
	n := 0
	for _, b := range blocks {
		n += len(b)
	}
	s.writing, s.queued = n, 0
	start := s.end
	s.mu.Unlock()
	metricHandoffBytes.Set(float64(n))
	if n == 0 {
		return nil
	}
	t0 := time.Now()
	if err := s.write(start, blocks); err != nil {
		s.mu.Lock()
		s.retry = blocks
		s.queued += n
		s.writing = 0
		s.mu.Unlock()
		return err
	}
	metricSpoolSyncSeconds.Observe(time.Since(t0).Seconds())

	s.mu.Lock()
	s.writing = 0
	s.end += uint64(n)
	s.segs[len(s.segs)-1].size += int64(n)
	s.diskBytes += int64(n)
	pos := start
	for _, b := range blocks {
		s.ring = append(s.ring, chunk{start: pos, data: b})
		pos += uint64(len(b))
	}
	for _, b := range blocks {
		s.ringBytes += cap(b) // the memory held, not just the bytes used
	}
	s.blockSize = min(spoolBlock, 2*n)
	for len(s.ring) > 1 && s.ringBytes > s.ringMax {
		s.ringBytes -= cap(s.ring[0].data)
		s.ring[0] = chunk{}
		s.ring = s.ring[1:]
	}
	full := s.segs[len(s.segs)-1].size >= s.segMax
	wakers := s.wakers
	disk := s.diskBytes
	unsynced := s.queued
	s.mu.Unlock()
	metricSpoolBytes.Set(float64(disk))
	metricHandoffBytes.Set(float64(unsynced))
	for _, w := range wakers {
		select {
		case w <- struct{}{}:
		default:
		}
	}
	if full {
		return s.closeActive()
	}
	return nil
}

// write appends the blocks to the active segment (creating one at start if needed) and fsyncs it. On error
// the segment is cut back to its previous size so a retry does not leave a half record in the middle.
func (s *spool) write(start uint64, blocks [][]byte) error {
	if s.f == nil {
		path := s.segPath(start)
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return fmt.Errorf("create spool segment: %w", err)
		}
		fi, err := f.Stat()
		if err == nil && fi.Size() != 0 {
			err = fmt.Errorf("spool segment %s exists with %d bytes", path, fi.Size())
		}
		if err == nil {
			err = SyncDir(s.dir)
		}
		if err != nil {
			f.Close()
			return err
		}
		s.f = f
		s.mu.Lock()
		if n := len(s.segs); n == 0 || s.segs[n-1].start != start {
			s.segs = append(s.segs, segment{start: start})
		}
		s.active = true
		s.mu.Unlock()
	}
	s.mu.Lock()
	before := s.segs[len(s.segs)-1].size
	s.mu.Unlock()
	var err error
	for _, b := range blocks {
		if _, err = s.f.Write(b); err != nil {
			break
		}
	}
	if err == nil {
		err = s.f.Sync()
	}
	if err != nil {
		if terr := s.f.Truncate(before); terr != nil {
			err = fmt.Errorf("%w; and cutting back failed: %w", err, terr)
		}
		return fmt.Errorf("write spool segment: %w", err)
	}
	return nil
}

func (s *spool) closeActive() error {
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	s.mu.Lock()
	s.active = false
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("close spool segment: %w", err)
	}
	return nil
}

// deleteBefore removes every closed segment whose records all lie before pos (all sinks have them durable).
// With the writer stopped (Close), the last segment goes too when pos reaches its end.
func (s *spool) deleteBefore(pos uint64) (int, error) {
	s.mu.Lock()
	var del []segment
	for len(s.segs) > 0 {
		g := s.segs[0]
		if g.end() > pos || (len(s.segs) == 1 && s.active) {
			break
		}
		del = append(del, g)
		s.segs = s.segs[1:]
		s.diskBytes -= g.size
	}
	disk := s.diskBytes
	s.mu.Unlock()
	var errs []error
	for _, g := range del {
		if err := os.Remove(s.segPath(g.start)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	metricSpoolBytes.Set(float64(disk))
	if len(del) > 0 {
		if err := SyncDir(s.dir); err != nil {
			errs = append(errs, err)
		}
	}
	return len(del), errors.Join(errs...)
}

// state returns the durable end, the first position still on disk and the bytes on disk.
func (s *spool) state() (end, first uint64, disk int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	first = s.end
	if len(s.segs) > 0 {
		first = s.segs[0].start
	}
	return s.end, first, s.diskBytes
}

// addWaker registers a channel signalled (non-blocking) whenever new records become durable.
func (s *spool) addWaker(c chan struct{}) {
	s.mu.Lock()
	s.wakers = append(s.wakers, c)
	s.mu.Unlock()
}

// SyncDir fsyncs a directory so a rename or create inside it is durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open dir for fsync: %w", err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("fsync dir %s: %w", dir, err)
	}
	return nil
}

// noteLost records a damaged region found by a reader and reports whether it is new (several sinks read the
// same spool: each region is counted once).
func (s *spool) noteLost(pos uint64, n int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, seen := s.lost[pos]; seen {
		return false
	}
	if s.lost == nil {
		s.lost = map[uint64]int{}
	}
	s.lost[pos] = n
	return true
}

// unsyncedKinds counts, per kind, the records accepted but not yet durable (what a failed final sync loses).
func (s *spool) unsyncedKinds() (n [schema.NumKinds]uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	count := func(b []byte) {
		for len(b) >= frameHeader+1 {
			l, st := checkFrame(b, false)
			if st != frameOK {
				return
			}
			if k := schema.Kind(b[frameHeader]); int(k) < len(n) {
				n[k]++
			}
			b = b[l:]
		}
	}
	for _, b := range s.retry {
		count(b)
	}
	for _, b := range s.sealed {
		count(b)
	}
	count(s.pending)
	return n
}

// activeSize returns the size of the segment open for appending (0 when none is).
func (s *spool) activeSize() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.active || len(s.segs) == 0 {
		return 0
	}
	return s.segs[len(s.segs)-1].size
}
