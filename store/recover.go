package store

import (
	"encoding/binary"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/okxtape/okxtape/schema"
)

// GapCrash is the gap-ledger reason of the window a crashed (killed, powered off) recorder left unrecorded:
// from its last spooled event to the next start.
const GapCrash = "crash"

// CrashGap returns the gap row for the window a previous recorder on this spool left unrecorded when it
// stopped without a clean shutdown, or nil. The caller emits it through the engine (so strategies and the
// stored ledger both see it) once recording has started.
func (r *Recorder) CrashGap() *schema.Gap { return r.crash }

// crashGap builds the crash window: from the receive time of the last record in the spool (the previous
// holder's start when the spool is empty) to now.
func crashGap(sp *spool, prev LockInfo, log *slog.Logger) *schema.Gap {
	now := time.Now()
	fromMs, how := prev.Since.UnixMilli(), "the previous run's start (its spool was empty)"
	if h, ok := sp.lastHeader(); ok {
		fromMs, how = h.RecvNs/1e6, "the last spooled event"
		if h.RecvNs == 0 {
			fromMs = h.Ts
		}
	}
	fromMs = min(fromMs, now.UnixMilli())
	g := &schema.Gap{Header: schema.Header{Ts: fromMs, RecvNs: now.UnixNano()}, FromMs: fromMs, ToMs: now.UnixMilli(),
		Reason: GapCrash, Detail: fmt.Sprintf("recorder pid %d on host %s stopped without a clean shutdown; nothing was recorded from %s to this start",
			prev.PID, prev.Host, how)}
	log.Warn("recorder: the previous run on this spool did not stop cleanly; a crash gap is recorded",
		"pid", prev.PID, "host", prev.Host, "from", time.UnixMilli(g.FromMs).UTC(), "to", now.UTC())
	return g
}

// lastHeader decodes the header of the last whole record on disk.
func (s *spool) lastHeader() (schema.Header, bool) {
	s.mu.Lock()
	segs := append([]segment(nil), s.segs...)
	s.mu.Unlock()
	for i := len(segs) - 1; i >= 0; i-- {
		b, err := os.ReadFile(s.segPath(segs[i].start))
		if err != nil {
			continue
		}
		b = b[:min(int64(len(b)), segs[i].size)]
		var last []byte
		for off := 0; off < len(b); {
			n, st := checkFrame(b[off:], true)
			if st != frameOK {
				if off = findFrame(b, off+1); off < 0 {
					break
				}
				continue
			}
			last = b[off : off+n]
			off += n
		}
		if last == nil {
			continue
		}
		t := schema.TableOf(schema.Kind(last[frameHeader]))
		if t == nil {
			continue
		}
		e := t.New()
		if err := schema.DecodeRow(last[frameHeader+1:], e); err == nil {
			return *e.Hdr(), true
		}
	}
	return schema.Header{}, false
}

// isRecordStart reports whether pos is the durable end or the start of a whole, CRC-valid record on disk.
func (s *spool) isRecordStart(pos uint64) bool {
	s.mu.Lock()
	end := s.end
	var g segment
	found := false
	for _, sg := range s.segs {
		if sg.start <= pos && pos < sg.end() {
			g, found = sg, true
			break
		}
	}
	s.mu.Unlock()
	if pos == end {
		return true
	}
	if !found {
		return false
	}
	f, err := os.Open(s.segPath(g.start))
	if err != nil {
		return false
	}
	defer f.Close()
	hdr := make([]byte, frameHeader)
	if _, err := f.ReadAt(hdr, int64(pos-g.start)); err != nil {
		return false
	}
	if _, st := checkFrame(hdr, false); st == frameBad {
		return false
	}
	l := uint64(binary.LittleEndian.Uint32(hdr[4:]))
	if pos+frameHeader+l > g.end() {
		return false
	}
	frame := make([]byte, frameHeader+l)
	if _, err := f.ReadAt(frame, int64(pos-g.start)); err != nil {
		return false
	}
	_, st := checkFrame(frame, true)
	return st == frameOK
}

// loadCursors reads the sinks' cursors, reporting (and ignoring) the files that cannot be read.
func (r *Recorder) loadCursors() map[string]uint64 {
	cursors, bad := loadCursors(r.o.SpoolDir)
	for _, err := range bad {
		r.badCursors.Add(1)
		r.log.Error("recorder: unreadable spool cursor ignored (its sink gets every spooled record again; nothing is deleted)", "err", err)
	}
	if cursors == nil {
		cursors = map[string]uint64{}
	}
	return cursors
}

// refuseIfDiskFull reads free space once and fails when it is below the critical mark.
func (r *Recorder) refuseIfDiskFull() error {
	if r.o.DiskCriticalBytes <= 0 && r.o.DiskLowBytes <= 0 {
		return nil
	}
	r.checkDisk()
	if r.diskLevel.Load() != diskCritical {
		return nil
	}
	free, dir, _ := r.diskFree()
	return &DiskCriticalError{Dir: dir, Free: free, Critical: uint64(r.o.DiskCriticalBytes)}
}

// lossErrors turns what this run failed to store into errors for Close (the exit status): events dropped
// (disk, spool) and rows quarantined to dead-letter files.
func (r *Recorder) lossErrors(st RecorderStats) []error {
	var errs []error
	if st.Dropped > 0 {
		errs = append(errs, fmt.Errorf("recorder: %d events were not recorded (%s)%s", st.Dropped,
			countList(st.DroppedPerDataset), map[bool]string{true: "; the disk went below the critical mark", false: ""}[st.DiskWasCritical]))
	}
	for name, ss := range st.PerSink {
		if len(ss.Quarantined) > 0 {
			errs = append(errs, fmt.Errorf("recorder: sink %s rejected rows permanently (%s); they are in dead-letter files",
				name, countList(ss.Quarantined)))
		}
	}
	return errs
}

func countList(m map[string]uint64) string {
	var parts []string
	for k, v := range m {
		parts = append(parts, fmt.Sprintf("%s %d", k, v))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}
