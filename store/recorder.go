package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/okxtape/okxtape/schema"
)

// RecorderOptions configure a Recorder. Zero values take the defaults in brackets.
type RecorderOptions struct {
	// SpoolDir holds the write-ahead spool and the per-sink cursors (required).
	SpoolDir string
	// BatchSize is the number of rows of one table per Sink.Write [1000]; for a RateBatcher sink (ClickHouse)
	// the floor of a batch sized for about one write per FlushInterval.
	BatchSize int
	// FlushInterval bounds how long a row waits in a partial batch [1s].
	FlushInterval time.Duration
	// SyncInterval is how often accepted events are written and fsynced to the spool [50ms]. It is the
	// crash window: kill -9 loses at most the events accepted in the last SyncInterval plus one fsync.
	SyncInterval time.Duration
	// MaxUnsynced caps the bytes accepted but not yet fsynced [64 MiB]. Beyond it the disk cannot keep up
	// and Handle drops (counted in okxtape_recorder_dropped_total, logged).
	MaxUnsynced int
	// SegmentBytes is the spool segment size at which a new segment file starts [64 MiB].
	SegmentBytes int64
	// DrainTimeout bounds, per sink, the time Close spends getting the sink to accept and flush the
	// remaining records [30s]; records a sink could not take stay in the spool for the next start. A sink
	// that is failing when Close is called gets one more attempt, not the whole DrainTimeout.
	DrainTimeout time.Duration
	// MaxBackoff caps the exponential, jittered wait between retries of a failed write [30s].
	MaxBackoff time.Duration
	// DeadLetter stores a batch a sink rejected permanently (store.IsPermanent) and returns where it went.
	// nil: permanent errors are retried like temporary ones (the batch blocks its sink).
	DeadLetter DeadLetterFunc
	// DiskLowBytes and DiskCriticalBytes are free-space watermarks on the spool's file system and every
	// folder in WatchDirs (see disk.go for what each level sheds) [0: off]. Start refuses to record when free
	// space is already below DiskCriticalBytes.
	DiskLowBytes, DiskCriticalBytes int64
	// WatchDirs are more folders whose free space counts (the Parquet store).
	WatchDirs []string
	// DiskCheckInterval is how often free space is read [500ms].
	DiskCheckInterval time.Duration
	// FreeBytes returns the free bytes of a folder's file system [statfs].
	FreeBytes func(dir string) (uint64, error)
	// SinkNice is the nice value of the sinks' dispatcher threads (Linux) [10] while they are not idle (see
	// SinkIdleLag). -1: normal priority, never idle.
	SinkNice int
	// SinkIdleLag is how far (spool bytes) a sink may fall behind the spool's end while its dispatcher
	// thread runs as SCHED_IDLE (Linux) [16 MiB]. Idle, the sink's encoding and compression run only on a
	// CPU nothing else wants, and a waking ingest or strategy thread takes the CPU from it at once (at nice
	// 10 the kernel still lets it finish a time slice of a few ms first, which is what the live path's
	// p99 saw). Beyond the lag the thread runs at SinkNice until it is back within a quarter of the lag, so
	// a machine kept busy by strategies or a backtest cannot starve the sink. -1: never idle.
	SinkIdleLag int64
	Logger      *slog.Logger // nil: slog.Default()
}

// DeadLetterFunc stores a batch that sink rejected permanently with cause and returns the file written.
// It is called from the sink's dispatcher goroutine.
type DeadLetterFunc func(sink string, b Batch, cause error) (path string, err error)

func (o *RecorderOptions) defaults() {
	if o.BatchSize <= 0 {
		o.BatchSize = 1000
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = time.Second
	}
	if o.SyncInterval <= 0 {
		o.SyncInterval = 50 * time.Millisecond
	}
	if o.MaxUnsynced <= 0 {
		o.MaxUnsynced = 64 << 20
	}
	if o.SegmentBytes <= 0 {
		o.SegmentBytes = 64 << 20
	}
	if o.DrainTimeout <= 0 {
		o.DrainTimeout = 30 * time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 30 * time.Second
	}
	if o.DiskCheckInterval <= 0 {
		o.DiskCheckInterval = 500 * time.Millisecond
	}
	if o.FreeBytes == nil {
		o.FreeBytes = statfsFree
	}
	if o.SinkNice == 0 {
		o.SinkNice = 10
	}
	if o.SinkIdleLag == 0 {
		o.SinkIdleLag = 16 << 20
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Recorder takes every stored event from the engine, makes it durable in the spool and feeds it to the
// sinks in batches: one dispatcher goroutine per sink reads the spool in order, batches per table
// (BatchSize rows or FlushInterval, whichever first), and retries a failed batch with backoff, in order,
// until the sink accepts it. A slow or down sink never blocks Handle or the other sinks: its records wait
// in the spool on disk. The spool is also the crash log: on the next start every record after a sink's
// cursor is delivered again (sinks are idempotent by Seq).
//
// Crash window: an event is durable once the spool writer has written and fsynced it, at most SyncInterval
// (50 ms) plus one write+fsync after Handle returned (okxtape_spool_sync_seconds; a few ms on a local SSD). A
// kill -9 or power loss loses only events accepted in that window (and a record torn mid-write is cut off
// at the next start); everything older is in the spool and reaches every sink at the next start. Sinks see
// only durable records, so no sink ever holds an event the spool could lose.
//
// Lifecycle: NewRecorder, then Start, then Handle any number of times (typically registered with
// eng.OnAll("recorder", rec.Handle)), then Close once. Handle may be called before Start (events are
// spooled and delivered once started) and from any goroutine.
type Recorder struct {
	o     RecorderOptions
	log   *slog.Logger
	sinks []Sink
	sp    *spool
	disp  []*dispatcher
	lock  *DirLock
	crash *schema.Gap // the window a crashed previous run left unrecorded

	accepted   atomic.Uint64
	dropped    atomic.Uint64
	droppedBy  [schema.NumKinds]atomic.Uint64
	corrupt    atomic.Uint64
	badCursors atomic.Uint64
	closed     atomic.Bool
	dropLog    atomic.Int64 // unix ns of the last drop log line

	diskLevel    atomic.Int32
	everCritical atomic.Bool
	diskLog      time.Time // owned by the sync goroutine (and Start)
	diskErrLog   time.Time

	mu       sync.Mutex
	started  bool
	onClose  []func()
	stopSync chan struct{}
	syncDone chan struct{}
	syncErr  atomic.Int64
}

// NewRecorder locks o.SpoolDir for the recorder's life (a *LockedError names the holder when another
// recorder has it) and opens (or creates) the spool there, cutting off a record torn by a crash. Sinks must
// have distinct names; they are opened by Start.
func NewRecorder(o RecorderOptions, sinks ...Sink) (*Recorder, error) {
	o.defaults()
	if o.SpoolDir == "" {
		return nil, errors.New("recorder: SpoolDir is required")
	}
	seen := map[string]bool{}
	for _, s := range sinks {
		if seen[s.Name()] {
			return nil, fmt.Errorf("recorder: two sinks named %q", s.Name())
		}
		seen[s.Name()] = true
	}
	r := &Recorder{o: o, log: o.Logger, sinks: sinks}
	if err := os.MkdirAll(o.SpoolDir, 0o700); err != nil { // private: the spool holds private datasets too
		return nil, fmt.Errorf("recorder: create spool dir: %w", err)
	}
	lock, err := LockDir(o.SpoolDir)
	if err != nil {
		return nil, fmt.Errorf("recorder: spool: %w", err)
	}
	r.lock = lock
	sp, err := openSpool(o.SpoolDir, o.SegmentBytes, o.MaxUnsynced, o.Logger)
	if err != nil {
		_ = r.lock.Release()
		return nil, fmt.Errorf("recorder: %w", err)
	}
	r.sp = sp
	if prev, unclean := r.lock.Unclean(); unclean {
		r.crash = crashGap(sp, prev, o.Logger)
	}
	return r, nil
}

// Start opens the sinks and starts the spool writer and one dispatcher per sink. Each dispatcher begins at
// its sink's saved cursor, so records spooled but not made durable by a previous run (crash, or a sink that
// was down at shutdown) are delivered first.
func (r *Recorder) Start(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.started || r.closed.Load() {
		return errors.New("recorder: Start called twice or after Close")
	}
	if err := r.refuseIfDiskFull(); err != nil {
		return err
	}
	cursors := r.loadCursors()
	var floor uint64
	for _, c := range cursors {
		floor = max(floor, c)
	}
	r.sp.setFloor(floor)
	end, first, _ := r.sp.state()
	for _, s := range r.sinks {
		if err := s.Open(ctx); err != nil {
			if !IsTemporary(err) {
				for _, d := range r.disp {
					_ = d.sink.Close(ctx)
				}
				r.disp = nil
				return fmt.Errorf("recorder: open sink %s: %w", s.Name(), err)
			}
			r.log.Warn("recorder: sink unavailable at start; recording goes on and its records wait in the spool until it comes up",
				"sink", s.Name(), "err", err)
		}
		pos, ok := cursors[s.Name()]
		if !ok || pos < first {
			pos = first
		} else if !r.sp.isRecordStart(pos) {
			r.badCursors.Add(1)
			r.log.Error("recorder: spool cursor does not point at a record; ignoring it (the sink gets every spooled record again and skips what it has; nothing is deleted)",
				"sink", s.Name(), "cursor", pos, "spool_first", first, "spool_end", end)
			pos = first
		}
		if pos < end {
			r.log.Info("recorder: recovering spooled records", "sink", s.Name(), "bytes", end-pos)
		}
		r.disp = append(r.disp, newDispatcher(r, s, pos, end))
	}
	r.stopSync, r.syncDone = make(chan struct{}), make(chan struct{})
	go r.syncLoop()
	for _, d := range r.disp {
		go d.run()
	}
	r.started = true
	return nil
}

// Handle spools one event. It encodes the row into an in-memory buffer under a mutex and returns: it never
// waits for the disk or a sink. Events of kinds that are not stored are ignored. When the unsynced buffer
// is over MaxUnsynced (the disk cannot keep up) or after Close, the event is dropped and counted.
func (r *Recorder) Handle(ev schema.Event) {
	k := ev.Kind()
	if schema.TableOf(k) == nil {
		return
	}
	s, ok := ev.(schema.Stored)
	if !ok {
		return
	}
	if lvl := r.diskLevel.Load(); lvl != diskOK && lvl >= shedAt[k] {
		reason := dropDiskLow
		if lvl == diskCritical {
			reason = dropDiskCritical
		}
		r.drop(k, reason)
		return
	}
	if r.closed.Load() {
		r.drop(k, dropClosed)
		return
	}
	if !r.sp.append(s) {
		r.drop(k, dropSpoolFull)
		return
	}
	r.accepted.Add(1)
	eventCounters[k].Inc()
}

func (r *Recorder) drop(k schema.Kind, reason int) {
	n := r.dropped.Add(1)
	r.droppedBy[k].Add(1)
	droppedCounters[reason][k].Inc()
	if reason != dropSpoolFull && reason != dropClosed {
		return // disk levels are logged by checkDisk
	}
	now := time.Now().UnixNano()
	if last := r.dropLog.Load(); now-last > int64(10*time.Second) && r.dropLog.CompareAndSwap(last, now) {
		r.log.Error("recorder: DROPPING EVENTS: the spool cannot keep up (disk too slow or failing) or the recorder is closed",
			"dropped_total", n, "unsynced_bytes", r.sp.unsynced(), "max_unsynced", r.o.MaxUnsynced, "closed", r.closed.Load())
	}
}

func (r *Recorder) syncLoop() {
	defer close(r.syncDone)
	t := time.NewTicker(r.o.SyncInterval)
	defer t.Stop()
	janitor, disk := time.Now(), time.Now()
	for {
		select {
		case <-r.stopSync:
			return
		case <-t.C:
		}
		r.syncOnce()
		if time.Since(disk) >= r.o.DiskCheckInterval {
			disk = time.Now()
			r.checkDisk()
		}
		if time.Since(janitor) >= time.Second {
			janitor = time.Now()
			r.truncateSpool(false)
		}
	}
}

func (r *Recorder) syncOnce() bool {
	err := r.sp.sync()
	if err == nil {
		return true
	}
	now := time.Now().UnixNano()
	if last := r.syncErr.Load(); now-last > int64(10*time.Second) && r.syncErr.CompareAndSwap(last, now) {
		r.log.Error("recorder: spool write failed; retrying (events are held in memory up to MaxUnsynced)",
			"err", err, "unsynced_bytes", r.sp.unsynced())
	}
	return false
}

// rollBytes is the size from which a segment whose records every sink has made durable is closed early, so
// the janitor can delete it: the spool on disk stays about as small as the sinks' buffers.
const rollBytes = 1 << 20

// truncateSpool deletes the segments every sink has made durable (by their saved cursors). Called from the
// sync goroutine (or Close after it stopped), so it may close the active segment.
func (r *Recorder) truncateSpool(final bool) {
	if len(r.disp) == 0 {
		return
	}
	low := r.disp[0].saved.Load()
	for _, d := range r.disp[1:] {
		low = min(low, d.saved.Load())
	}
	if end, _, _ := r.sp.state(); !final && low >= end {
		if sz := r.sp.activeSize(); sz >= rollBytes || (sz > 0 && r.diskLevel.Load() != diskOK) {
			if err := r.sp.closeActive(); err != nil {
				r.log.Error("recorder: closing a durable spool segment failed", "err", err)
			}
		}
	}
	if n, err := r.sp.deleteBefore(low); err != nil {
		r.log.Error("recorder: deleting durable spool segments failed", "err", err)
	} else if n > 0 && final {
		r.log.Debug("recorder: deleted durable spool segments", "n", n)
	}
}

// Close stops accepting events, writes and fsyncs the spool a last time, then drains every sink in
// parallel: each gets up to DrainTimeout (or until ctx ends) to accept the remaining batches and Flush;
// then it is closed. A sink still failing at that point keeps its records in the spool for the next start
// (logged, and visible in Stats as BacklogBytes). Segments every sink has made durable are deleted.
func (r *Recorder) Close(ctx context.Context) error {
	if r.closed.Swap(true) {
		return errors.New("recorder: Close called twice")
	}
	r.mu.Lock()
	started := r.started
	r.mu.Unlock()
	if started {
		close(r.stopSync)
		<-r.syncDone
	}
	var errs []error
	synced := false
	for i := 0; i < 3 && !synced; i++ {
		if synced = r.syncOnce(); !synced {
			time.Sleep(100 * time.Millisecond)
		}
	}
	if !synced {
		n := r.sp.unsynced()
		lost := r.sp.unsyncedKinds()
		var total uint64
		for k, c := range lost {
			if c > 0 {
				total += c
				r.dropped.Add(c)
				r.droppedBy[k].Add(c)
				droppedCounters[dropSpoolWrite][k].Add(float64(c))
			}
		}
		errs = append(errs, fmt.Errorf("recorder: final spool sync failed, %d events (%d bytes) lost", total, n))
	}
	var wg sync.WaitGroup
	for _, d := range r.disp {
		wg.Add(1)
		go func(d *dispatcher) {
			defer wg.Done()
			dctx, cancel := context.WithTimeout(ctx, r.o.DrainTimeout)
			defer cancel()
			d.drain(dctx)
		}(d)
	}
	wg.Wait()
	for _, d := range r.disp {
		if err := d.err(); err != nil {
			errs = append(errs, fmt.Errorf("recorder: sink %s: %w", d.name, err))
		}
	}
	if err := r.sp.closeActive(); err != nil {
		errs = append(errs, err)
	}
	r.truncateSpool(true)
	st := r.Stats()
	r.log.Info("recorder: closed", "accepted", st.Accepted, "dropped", st.Dropped, "spool_bytes", st.SpoolBytes)
	errs = append(errs, r.lossErrors(st)...)
	if err := r.lock.Release(); err != nil {
		errs = append(errs, fmt.Errorf("recorder: %w", err))
	}
	for _, fn := range r.onClose {
		fn()
	}
	return errors.Join(errs...)
}

// OnClose registers fn to run at the end of Close (the caller's own locks on the store folder).
func (r *Recorder) OnClose(fn func()) {
	r.mu.Lock()
	r.onClose = append(r.onClose, fn)
	r.mu.Unlock()
}

// SinkSummary is one sink's part of RecorderStats.
type SinkSummary struct {
	Rows         map[string]uint64 `json:"rows"`          // rows stored per dataset (as the sink reports, else accepted)
	Retries      uint64            `json:"retries"`       // retried writes/flushes
	Errors       uint64            `json:"errors"`        // failed writes/flushes
	Files        uint64            `json:"files"`         // files written (Parquet)
	Quarantined  map[string]uint64 `json:"quarantined"`   // rows rejected permanently, written to dead-letter files
	Recovered    uint64            `json:"recovered"`     // records redelivered from a previous run's spool
	BacklogBytes uint64            `json:"backlog_bytes"` // spool bytes the sink has not made durable yet
}

// RecorderStats is the recorder's part of the exit summary.
type RecorderStats struct {
	Accepted              uint64                 `json:"accepted"`
	Dropped               uint64                 `json:"dropped"`
	DroppedPerDataset     map[string]uint64      `json:"dropped_per_dataset"` // every dataset with drops (disk, spool, closed)
	Disk                  string                 `json:"disk"`                // free-space level now: ok, low, lower, critical
	DiskWasCritical       bool                   `json:"disk_was_critical"`
	Corrupt               uint64                 `json:"corrupt"`     // spool records lost to damage, per record
	TornTail              int                    `json:"torn_tail"`   // records of a crashed run's last write, cut at open
	BadCursors            uint64                 `json:"bad_cursors"` // sink cursors that did not point at a record (ignored)
	SpoolBytes            int64                  `json:"spool_bytes"`
	SpoolRecoveredRecords uint64                 `json:"spool_recovered_records"`
	PerSink               map[string]SinkSummary `json:"sinks"`
}

// Stats returns a snapshot of the counters; safe to call at any time.
func (r *Recorder) Stats() RecorderStats {
	end, _, disk := r.sp.state()
	st := RecorderStats{Accepted: r.accepted.Load(), Dropped: r.dropped.Load(), Corrupt: r.corrupt.Load(),
		SpoolBytes: disk, PerSink: map[string]SinkSummary{}, DroppedPerDataset: map[string]uint64{},
		Disk: diskLevelNames[r.diskLevel.Load()], DiskWasCritical: r.everCritical.Load(), TornTail: r.sp.torn,
		BadCursors: r.badCursors.Load()}
	for _, t := range schema.Tables() {
		if n := r.droppedBy[t.Kind].Load(); n > 0 {
			st.DroppedPerDataset[t.Name] = n
		}
	}
	for _, d := range r.disp {
		ss := d.summary()
		if c := d.saved.Load(); c < end {
			ss.BacklogBytes = end - c
		}
		st.SpoolRecoveredRecords = max(st.SpoolRecoveredRecords, ss.Recovered)
		st.PerSink[d.name] = ss
	}
	return st
}

// Unsynced returns the bytes of accepted events not yet written and fsynced to the spool (what a crash now
// would lose).
func (r *Recorder) Unsynced() int { return r.sp.unsynced() }
