package store

import (
	"context"
	"sync"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/okxtape/okxtape/internal/storetest"
)

// schedSink records, at every Write, the scheduling policy and nice value of the thread it runs on (the
// dispatcher's), and can hold its first Write until released.
type schedSink struct {
	mu      sync.Mutex
	seen    []threadSched
	rows    int
	hold    chan struct{} // first Write waits until closed
	holding chan struct{} // closed when the first Write is waiting
	once    sync.Once
}

type threadSched struct{ policy, nice int }

func currentThreadSched() threadSched {
	p, _, _ := syscall.RawSyscall(syscall.SYS_SCHED_GETSCHEDULER, 0, 0, 0)
	prio, _ := syscall.Getpriority(syscall.PRIO_PROCESS, syscall.Gettid()) // the kernel's 20 - nice
	return threadSched{policy: int(p), nice: 20 - prio}
}

func (s *schedSink) Name() string                { return "sched" }
func (s *schedSink) Open(context.Context) error  { return nil }
func (s *schedSink) Pending() (uint64, bool)     { return 0, false }
func (s *schedSink) Flush(context.Context) error { return nil }
func (s *schedSink) Close(context.Context) error { return nil }
func (s *schedSink) Write(_ context.Context, b Batch) error {
	if s.hold != nil {
		s.once.Do(func() { close(s.holding); <-s.hold })
	}
	ts := currentThreadSched()
	s.mu.Lock()
	s.seen = append(s.seen, ts)
	s.rows += len(b.Events)
	s.mu.Unlock()
	return nil
}

func (s *schedSink) snapshot() ([]threadSched, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]threadSched(nil), s.seen...), s.rows
}

func waitRows(t *testing.T, s *schedSink, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, got := s.snapshot(); got >= n {
			return
		}
		if time.Now().After(deadline) {
			_, got := s.snapshot()
			t.Fatalf("sink got %d of %d rows", got, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestSinkThreadIdleWhileKeepingUp: a sink that keeps up encodes on a SCHED_IDLE thread (where the process
// may leave SCHED_IDLE again; otherwise at nice 10, never idle), and the okxtape_sink_idle gauge says so.
func TestSinkThreadIdleWhileKeepingUp(t *testing.T) {
	sink := &schedSink{}
	rec, err := NewRecorder(RecorderOptions{SpoolDir: t.TempDir(), Logger: storetest.Quiet()}, sink)
	if err != nil {
		t.Fatal(err)
	}
	if err := rec.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	g := storetest.NewTickerGen(1, 10)
	for range 5000 {
		rec.Handle(g.Next())
	}
	waitRows(t, sink, 5000)
	want := threadSched{policy: schedIdle, nice: 10}
	if !canLeaveIdle() {
		want.policy = 0
	}
	seen, _ := sink.snapshot()
	for i, s := range seen {
		if s != want {
			t.Errorf("write %d ran on a thread with %+v, want %+v", i, s, want)
		}
	}
	var m dto.Metric
	if err := metricSinkIdle.WithLabelValues("sched").Write(&m); err != nil {
		t.Fatal(err)
	}
	if g := m.GetGauge().GetValue(); (g == 1) != (want.policy == schedIdle) {
		t.Errorf("okxtape_sink_idle = %v with policy %d", g, want.policy)
	}
	if err := rec.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestSinkThreadLeavesIdleWhenBehind: a sink more than SinkIdleLag behind the spool runs at normal policy
// (nice 10) until it has caught up, then goes back to SCHED_IDLE; with SinkNice -1 it never changes.
func TestSinkThreadLeavesIdleWhenBehind(t *testing.T) {
	if !canLeaveIdle() {
		t.Log("this process may not leave SCHED_IDLE: the dispatcher must never enter it")
	}
	sink := &schedSink{hold: make(chan struct{}), holding: make(chan struct{})}
	rec, err := NewRecorder(RecorderOptions{SpoolDir: t.TempDir(), Logger: storetest.Quiet(), SinkIdleLag: 64 << 10}, sink)
	if err != nil {
		t.Fatal(err)
	}
	if err := rec.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	g := storetest.NewTickerGen(2, 10)
	for range 1000 {
		rec.Handle(g.Next())
	}
	<-sink.holding       // the first batch is in Write: the sink is stuck while the spool grows
	const behind = 20000 // tickers: several MB of spool, far beyond 64 KiB
	for range behind {
		rec.Handle(g.Next())
	}
	deadline := time.Now().Add(10 * time.Second)
	for end, _, _ := rec.sp.state(); end < 2<<20 && time.Now().Before(deadline); end, _, _ = rec.sp.state() {
		time.Sleep(5 * time.Millisecond)
	}
	close(sink.hold)
	waitRows(t, sink, 1000+behind)
	// Caught up: the next batches run idle again.
	for range 3000 {
		rec.Handle(g.Next())
	}
	waitRows(t, sink, 4000+behind)
	seen, _ := sink.snapshot()
	var normal, idleAfter int
	for i, s := range seen {
		switch {
		case s.policy == 0 && s.nice == 10:
			normal++
		case s.policy == schedIdle && s.nice == 10:
			if normal > 0 {
				idleAfter++
			}
		default:
			t.Errorf("write %d ran on a thread with %+v", i, s)
		}
	}
	if canLeaveIdle() {
		if seen[0].policy != schedIdle {
			t.Errorf("first write ran with %+v before the sink fell behind, want SCHED_IDLE", seen[0])
		}
		if normal == 0 || idleAfter == 0 {
			t.Errorf("behind then caught up: %d writes at normal policy, %d idle after them (want both > 0): %+v", normal, idleAfter, seen)
		}
	} else if normal != len(seen) {
		t.Errorf("%d of %d writes at normal policy, want all", normal, len(seen))
	}
	if err := rec.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}
