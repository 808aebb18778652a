package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/okxtape/okxtape/schema"
)

// Housekeeper is implemented by sinks that need a periodic call while idle (the Parquet sink closes files
// at their rotation even when no new rows arrive). The dispatcher calls Housekeep about once a second, from
// its own goroutine (so never concurrently with Write).
type Housekeeper interface {
	Housekeep(ctx context.Context) error
}

const (
	readChunk      = 4096 // records read between timer checks
	recordsPerMark = 4096
	saveEvery      = 200 * time.Millisecond
	// pressureFlushEvery is how often a sink is flushed while free disk space is below the low mark.
	pressureFlushEvery = 5 * time.Second
)

// tableBatch is the partial batch of one table. Its events are reused after the sink accepted them.
type tableBatch struct {
	t        *schema.Table
	events   []schema.Stored
	n        int
	limit    int       // rows at which the batch is written (BatchSize, or rate-sized; see RateBatcher)
	firstPos uint64    // spool position of events[0]
	since    time.Time // when events[0] was added
	rows     prometheus.Counter
}

func (b *tableBatch) slot() schema.Stored {
	if b.n < len(b.events) {
		return b.events[b.n]
	}
	e := b.t.New()
	b.events = append(b.events, e)
	return e
}

// mark summarises a run of records read: where it starts and the largest seq in it. It maps a sink's
// Pending seq back to a spool position (the first run holding a seq at or above it).
type mark struct {
	pos    uint64
	maxSeq uint64
	n      int
}

// dispatcher feeds one sink from the spool. All its fields except the atomics and stats are owned by its
// goroutine.
type dispatcher struct {
	r        *Recorder
	sink     Sink
	name     string
	rd       *spoolReader
	dec      schema.Decoder // interning: spooled rows of a few instruments decode without allocating
	batches  [schema.NumKinds]*tableBatch
	marks    []mark
	startEnd uint64 // spool end at Start: records before it are recovered
	bo       *backoff.ExponentialBackOff
	prio     *sinkPriority
	lastHK   time.Time
	lastSave time.Time
	errLog   time.Time
	// lastPressure is the last flush forced by low disk space.
	lastPressure time.Time
	corruptLog   time.Time
	// rewinds counts the times the sink dropped undurable rows (ErrRedeliver) and the spool was read again.
	rewinds uint64

	ctx    context.Context // cancelled when the drain deadline passes
	cancel context.CancelFunc
	wake   chan struct{}
	stop   chan struct{}
	done   chan struct{}

	saved     atomic.Uint64 // persisted cursor
	retries   atomic.Uint64
	errors    atomic.Uint64
	recovered atomic.Uint64
	flushHist prometheus.Observer
	errCount  prometheus.Counter
	retryCnt  prometheus.Counter
	backlog   prometheus.Gauge

	mu          sync.Mutex
	rows        map[string]uint64
	quarantined map[string]uint64
	qLog        map[string]time.Time // owned by the goroutine
	closeErr    error
}

func newDispatcher(r *Recorder, s Sink, pos, end uint64) *dispatcher {
	name := s.Name()
	d := &dispatcher{r: r, sink: s, name: name, startEnd: end, rows: map[string]uint64{},
		quarantined: map[string]uint64{}, qLog: map[string]time.Time{},
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
		flushHist: metricSinkFlush.WithLabelValues(name), errCount: metricSinkErrors.WithLabelValues(name),
		retryCnt: metricSinkRetries.WithLabelValues(name), backlog: metricSinkBacklog.WithLabelValues(name)}
	d.ctx, d.cancel = context.WithCancel(context.Background())
	d.rd = newSpoolReader(r.sp, pos, d.corrupt)
	d.prio = newSinkPriority(name, &r.o)
	d.saved.Store(pos)
	d.bo = backoff.NewExponentialBackOff(backoff.WithInitialInterval(min(100*time.Millisecond, r.o.MaxBackoff)),
		backoff.WithMaxInterval(r.o.MaxBackoff), backoff.WithMaxElapsedTime(0), backoff.WithRandomizationFactor(0.5))
	for _, t := range schema.Tables() {
		d.batches[t.Kind] = &tableBatch{t: t, limit: r.o.BatchSize, rows: metricSinkRows.WithLabelValues(name, t.Name)}
	}
	r.sp.addWaker(d.wake)
	return d
}

func (d *dispatcher) run() {
	d.prio.start()
	defer close(d.done)
	defer d.rd.close()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		select {
		case <-d.stop:
			d.prio.normal()
			d.finish()
			return
		default:
		}
		n := d.pump()
		if end, _, _ := d.r.sp.state(); end >= d.rd.pos {
			d.prio.update(end - d.rd.pos)
		}
		now := time.Now()
		d.flushDue(now, false)
		d.housekeep(now, false)
		if n > 0 {
			continue
		}
		timer.Reset(d.wait(now))
		select {
		case <-d.wake:
		case <-timer.C:
		case <-d.stop:
		}
	}
}

// pump reads up to readChunk records into the batches, writing batches that reach BatchSize.
func (d *dispatcher) pump() int {
	now := time.Now()
	for i := 0; i < readChunk; i++ {
		if d.ctx.Err() != nil {
			return i
		}
		rec, ok, err := d.rd.next()
		if err != nil {
			d.fail("read spool", err)
			return i
		}
		if !ok {
			return i
		}
		t := schema.TableOf(rec.kind)
		if t == nil {
			d.corruptRecord(rec, nil)
			continue
		}
		b := d.batches[t.Kind]
		ev := b.slot()
		d.dec.Intern = true
		if err := d.dec.Decode(rec.row, ev); err != nil {
			d.corruptRecord(rec, err)
			continue
		}
		if n := len(d.marks); n == 0 || d.marks[n-1].n >= recordsPerMark {
			d.marks = append(d.marks, mark{pos: rec.pos})
		}
		m := &d.marks[len(d.marks)-1]
		m.n++
		m.maxSeq = max(m.maxSeq, ev.Hdr().Seq)
		if rec.pos < d.startEnd {
			d.recovered.Add(1)
		}
		if b.n == 0 {
			b.firstPos, b.since = rec.pos, now
		}
		b.n++
		if b.n >= b.limit && !d.flush(b) {
			return i + 1
		}
	}
	return readChunk
}

func (d *dispatcher) corruptRecord(rec spoolRecord, err error) {
	if err == nil {
		err = errUnknownKind(rec.kind)
	}
	if d.r.sp.noteLost(rec.pos, 1) {
		d.corrupt(fmt.Errorf("spool record at %d: %w", rec.pos, err), 1)
	}
}

type errUnknownKind schema.Kind

func (e errUnknownKind) Error() string {
	return "spool record of unknown kind " + schema.Kind(e).String()
}

// corrupt counts records lost to spool damage; the first region is logged at once, then at most one line
// per 10 s (with the running total).
func (d *dispatcher) corrupt(err error, lost int) {
	total := d.r.corrupt.Add(uint64(lost))
	metricCorrupt.Add(float64(lost))
	if now := time.Now(); now.Sub(d.corruptLog) >= 10*time.Second {
		d.corruptLog = now
		d.r.log.Error("recorder: SPOOL DAMAGE: records lost (further damage within 10s is counted, not logged)",
			"sink", d.name, "err", err, "lost", lost, "lost_total", total)
	}
}

// fail logs an error of this sink's pipeline: the first at once, then at most one line per 10 s.
func (d *dispatcher) fail(what string, err error) {
	if now := time.Now(); now.Sub(d.errLog) >= 10*time.Second {
		d.errLog = now
		d.r.log.Error("recorder: "+what+" failed (further errors within 10s are counted, not logged)",
			"sink", d.name, "err", err, "errors_total", d.errors.Load())
	}
}

// flushDue writes the batches older than FlushInterval (all non-empty ones when all is set).
func (d *dispatcher) flushDue(now time.Time, all bool) bool {
	for _, b := range d.batches {
		if b != nil && b.n > 0 && (all || now.Sub(b.since) >= d.r.o.FlushInterval) {
			if !d.flush(b) {
				return false
			}
		}
	}
	return true
}

// flush writes one batch, retrying it (same events, in order) until the sink accepts it or the drain
// deadline passes. It returns false in the latter case (the batch then stays in the spool) and when the sink
// dropped undurable rows (the spool is being read again; see rewind). A batch the sink rejects permanently
// is quarantined to a dead-letter file and counts as done.
func (d *dispatcher) flush(b *tableBatch) bool {
	batch := Batch{Table: b.t, Events: b.events[:b.n]}
	quarantined := false
	rewinds := d.rewinds
	write := func() error {
		err := d.redeliverOr(d.sink.Write(d.ctx, batch))
		if err == nil || !IsPermanent(err) || d.r.o.DeadLetter == nil {
			return err
		}
		if qerr := d.quarantine(batch, err); qerr != nil {
			return fmt.Errorf("%w; and writing the batch to a dead-letter file failed: %v", err, qerr)
		}
		quarantined = true
		return nil
	}
	if !d.retry("write "+b.t.Name, write) || d.rewinds != rewinds {
		return false
	}
	if !quarantined {
		b.rows.Add(float64(b.n))
		d.mu.Lock()
		d.rows[b.t.Name] += uint64(b.n)
		d.mu.Unlock()
	}
	d.resize(b, time.Now())
	b.n = 0
	return true
}

// resize adapts a written batch's limit for sinks that want rate-sized batches (RateBatcher).
func (d *dispatcher) resize(b *tableBatch, now time.Time) {
	if rb, ok := d.sink.(RateBatcher); !ok || !rb.RateBatches() {
		return
	}
	floor, iv := d.r.o.BatchSize, d.r.o.FlushInterval
	switch {
	case b.n >= b.limit && now.Sub(b.since) < iv/2:
		b.limit = min(2*b.limit, MaxRateBatch*floor)
	case b.n < b.limit/4:
		b.limit = max(b.limit/2, floor)
	}
}

// quarantine writes a permanently rejected batch to a dead-letter file, counts it and alerts: at once for
// the first batch of a dataset, then at most once a minute per dataset.
func (d *dispatcher) quarantine(b Batch, cause error) error {
	path, err := d.r.o.DeadLetter(d.name, b, cause)
	if err != nil {
		return err
	}
	n := uint64(len(b.Events))
	metricSinkQuarantined.WithLabelValues(d.name, b.Table.Name).Add(float64(n))
	d.mu.Lock()
	d.quarantined[b.Table.Name] += n
	total := d.quarantined[b.Table.Name]
	d.mu.Unlock()
	if now := time.Now(); now.Sub(d.qLog[b.Table.Name]) >= time.Minute {
		d.qLog[b.Table.Name] = now
		d.r.log.Error("recorder: SINK REJECTED A BATCH PERMANENTLY; quarantined to a dead-letter file, the sink goes on with the others",
			"sink", d.name, "dataset", b.Table.Name, "rows", n, "quarantined_total", total, "file", path, "err", cause)
	}
	return nil
}

// stopAttempts is how many failed attempts in a row a sink gets once Close has begun (at most a second
// apart) before it is given up and its records are left in the spool for the next start.
const stopAttempts = 3

// retry calls fn until it succeeds, waiting a backoff after each failure. Once Close has begun, a sink that
// fails stopAttempts times in a row is given up (its records stay in the spool for the next start), so
// shutdown never waits out DrainTimeout on a dead sink.
func (d *dispatcher) retry(what string, fn func() error) bool {
	failedStopping := 0
	for attempt := 0; ; attempt++ {
		if d.ctx.Err() != nil {
			return false
		}
		stopping := d.stopping()
		t0 := time.Now()
		err := fn()
		if err == nil {
			d.flushHist.Observe(time.Since(t0).Seconds())
			if attempt > 0 {
				d.r.log.Info("recorder: sink accepted again", "sink", d.name, "op", what, "attempts", attempt+1)
				d.bo.Reset()
			}
			return true
		}
		d.errors.Add(1)
		d.errCount.Inc()
		d.fail(what, err)
		wait := d.bo.NextBackOff()
		if stopping {
			if failedStopping++; failedStopping >= stopAttempts {
				d.r.log.Warn("recorder: sink still failing at shutdown; giving up on it, its records stay in the spool",
					"sink", d.name, "op", what, "attempts_since_shutdown", failedStopping, "err", err)
				d.cancel()
				return false
			}
			wait = min(wait, time.Second)
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-d.stopIfRunning(stopping): // shutdown began during the wait: try again at once
			t.Stop()
		case <-d.ctx.Done():
			t.Stop()
			return false
		}
		d.retries.Add(1)
		d.retryCnt.Inc()
	}
}

// stopIfRunning returns the stop channel, or nil (never ready) once stopping: then the backoff is waited.
func (d *dispatcher) stopIfRunning(stopping bool) <-chan struct{} {
	if stopping {
		return nil
	}
	return d.stop
}

func (d *dispatcher) stopping() bool {
	select {
	case <-d.stop:
		return true
	default:
		return false
	}
}

// wait returns how long the loop may sleep: until the oldest partial batch is due, at most a second.
func (d *dispatcher) wait(now time.Time) time.Duration {
	w := time.Second
	for _, b := range d.batches {
		if b != nil && b.n > 0 {
			w = min(w, b.since.Add(d.r.o.FlushInterval).Sub(now))
		}
	}
	return max(w, time.Millisecond)
}

func (d *dispatcher) housekeep(now time.Time, force bool) {
	if hk, ok := d.sink.(Housekeeper); ok && (force || now.Sub(d.lastHK) >= time.Second) {
		d.lastHK = now
		if err := d.redeliverOr(hk.Housekeep(d.ctx)); err != nil {
			d.errors.Add(1)
			d.errCount.Inc()
			d.fail("sink housekeeping", err)
		}
	}
	if d.r.diskLevel.Load() != diskOK && !force && now.Sub(d.lastPressure) >= pressureFlushEvery {
		// Short of disk: make buffered rows durable in the sink (Parquet is several times smaller than
		// the spool), so the spool behind them can be deleted.
		d.lastPressure = now
		if d.flushDue(now, true) {
			if err := d.redeliverOr(d.sink.Flush(d.ctx)); err != nil {
				d.errors.Add(1)
				d.errCount.Inc()
				d.fail("flush under disk pressure", err)
			}
		}
	}
	if force || now.Sub(d.lastSave) >= saveEvery {
		d.lastSave = now
		if pos := d.durablePos(); pos != d.saved.Load() {
			d.save(pos)
		}
	}
}

// durablePos is the spool position before which this sink has every record durable: the smallest of the
// read position, the first record of any unaccepted batch, and the run holding the sink's Pending seq.
func (d *dispatcher) durablePos() uint64 {
	pos := d.rd.pos
	for _, b := range d.batches {
		if b != nil && b.n > 0 {
			pos = min(pos, b.firstPos)
		}
	}
	if seq, ok := d.sink.Pending(); ok {
		for _, m := range d.marks {
			if m.maxSeq >= seq {
				pos = min(pos, m.pos)
				break
			}
		}
	}
	i := 0
	for i+1 < len(d.marks) && d.marks[i+1].pos <= pos {
		i++
	}
	if i > 0 {
		d.marks = append(d.marks[:0], d.marks[i:]...)
	}
	return pos
}

func (d *dispatcher) save(pos uint64) {
	if err := saveCursor(d.r.o.SpoolDir, d.name, pos); err != nil {
		d.fail("save spool cursor", err)
		return
	}
	d.saved.Store(pos)
	end, _, _ := d.r.sp.state()
	if end >= pos {
		d.backlog.Set(float64(end - pos))
	}
}

// finish runs at Close: read every remaining record, write all batches, Flush, save the cursor, Close. When
// the sink drops undurable rows on the way (ErrRedeliver), the spool is read again, up to stopAttempts times.
func (d *dispatcher) finish() {
	for round := 0; ; round++ {
		rewinds := d.rewinds
		ok := true
		for ok {
			n := d.pump()
			ok = d.ctx.Err() == nil
			if n == 0 {
				break
			}
		}
		ok = ok && d.flushDue(time.Now(), true)
		if ok && d.rewinds == rewinds {
			d.housekeep(time.Now(), true)
			d.retry("flush", func() error { return d.redeliverOr(d.sink.Flush(d.ctx)) })
		}
		if d.rewinds == rewinds || d.ctx.Err() != nil || round+1 >= stopAttempts {
			break
		}
	}
	d.housekeep(time.Now(), true)
	end, _, _ := d.r.sp.state()
	if saved := d.saved.Load(); saved < end {
		d.r.log.Warn("recorder: sink did not make every record durable before shutdown; they stay in the spool and are delivered at the next start",
			"sink", d.name, "spool_bytes_kept", end-saved, "dir", d.r.o.SpoolDir)
	}
	cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.sink.Close(cctx); err != nil {
		d.mu.Lock()
		d.closeErr = err
		d.mu.Unlock()
	}
}

// redeliverOr handles a sink error wrapping ErrRedeliver (it rewinds and returns nil) and returns any other.
func (d *dispatcher) redeliverOr(err error) error {
	if err == nil || !errors.Is(err, ErrRedeliver) {
		return err
	}
	d.rewind(err)
	return nil
}

// rewind makes the dispatcher read the spool again from its saved cursor, which lies before every record the
// sink has not made durable: the sink dropped such rows (ErrRedeliver) and skips, when they come again, the
// ones it holds. Partial batches are dropped (they are read again). It first waits a backoff, so a failing
// disk is not hammered.
func (d *dispatcher) rewind(err error) {
	d.rewinds++
	d.errors.Add(1)
	d.errCount.Inc()
	d.fail("write (the sink dropped rows it had not made durable; reading the spool again from the cursor)", err)
	pos := d.saved.Load()
	d.rd.close()
	d.rd = newSpoolReader(d.r.sp, pos, d.corrupt)
	for _, b := range d.batches {
		if b != nil {
			b.n = 0
		}
	}
	d.marks = d.marks[:0]
	stopping := d.stopping()
	wait := d.bo.NextBackOff()
	if stopping {
		wait = min(wait, time.Second)
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
	case <-d.ctx.Done():
	case <-d.stopIfRunning(stopping):
	}
}

// drain asks the dispatcher to finish and waits for it, cancelling its writes when ctx ends.
func (d *dispatcher) drain(ctx context.Context) {
	close(d.stop)
	select {
	case <-d.done:
		return
	case <-ctx.Done():
		d.cancel()
	}
	t := time.NewTimer(15 * time.Second)
	defer t.Stop()
	select {
	case <-d.done:
	case <-t.C:
		d.r.log.Error("recorder: sink did not return after its drain deadline; abandoning it", "sink", d.name)
		d.mu.Lock()
		d.closeErr = context.DeadlineExceeded
		d.mu.Unlock()
	}
}

func (d *dispatcher) err() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.closeErr
}

func (d *dispatcher) summary() SinkSummary {
	s := SinkSummary{Rows: map[string]uint64{}, Retries: d.retries.Load(), Errors: d.errors.Load(),
		Recovered: d.recovered.Load(), Quarantined: map[string]uint64{}}
	d.mu.Lock()
	for k, v := range d.quarantined {
		s.Quarantined[k] = v
	}
	d.mu.Unlock()
	if sr, ok := d.sink.(StatsReporter); ok {
		st := sr.Stats()
		for k, v := range st.Rows {
			s.Rows[k] = v
		}
		s.Files = st.Files
		return s
	}
	d.mu.Lock()
	for k, v := range d.rows {
		s.Rows[k] = v
	}
	d.mu.Unlock()
	return s
}
