package engine

import (
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/okxtape/okxtape/schema"
)

func TestTypedDispatchInOrder(t *testing.T) {
	e := New(Options{Mode: Live, SeqStart: 100})
	var got []string
	On(e, "a", func(tk *schema.Ticker) { got = append(got, "a:"+tk.InstID) })
	On(e, "b", func(tk *schema.Ticker) { got = append(got, "b:"+tk.InstID) })
	On(e, "t", func(tr *schema.Trade) { got = append(got, "t:"+tr.InstID) })
	var all int
	e.OnAll("all", func(schema.Event) { all++ })
	tk := &schema.Ticker{Header: schema.Header{InstID: "X"}}
	e.Emit(tk)
	e.Emit(&schema.Trade{Header: schema.Header{InstID: "Y"}})
	want := []string{"a:X", "b:X", "t:Y"}
	if len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("got %v want %v", got, want)
	}
	if all != 2 || tk.Seq != 101 || e.Dispatched(schema.KindTicker) != 1 {
		t.Fatalf("all=%d seq=%d", all, tk.Seq)
	}
}

func TestPanickingHandlerIsIsolated(t *testing.T) {
	e := New(Options{Mode: Live})
	var after int
	On(e, "bad", func(*schema.Ticker) { panic("boom") })
	On(e, "good", func(*schema.Ticker) { after++ })
	for i := 0; i < 3; i++ {
		e.Emit(&schema.Ticker{})
	}
	if after != 3 || e.Panics() != 3 {
		t.Fatalf("after=%d panics=%d", after, e.Panics())
	}
}

func TestRegisterFromHandler(t *testing.T) {
	e := New(Options{Mode: Live})
	var late int
	On(e, "reg", func(*schema.Ticker) {
		if late == 0 {
			On(e, "late", func(*schema.Ticker) { late++ })
		}
	})
	e.Emit(&schema.Ticker{})
	e.Emit(&schema.Ticker{})
	if late != 1 {
		t.Fatalf("late handler ran %d times, want 1", late)
	}
}

func TestReplayClockAndTimers(t *testing.T) {
	e := New(Options{Mode: Replay})
	var fired []int64
	var nowAtTick []int64
	On(e, "s", func(tk *schema.Ticker) {
		nowAtTick = append(nowAtTick, e.Now().UnixMilli())
		if tk.Ts == 1000 {
			e.Every(500*time.Millisecond, "every", func() { fired = append(fired, e.Now().UnixMilli()) })
		}
	})
	for _, ts := range []int64{1000, 1200, 2600, 2600} {
		e.Emit(&schema.Ticker{Header: schema.Header{Ts: ts, Seq: 5}})
	}
	e.AdvanceTo(time.UnixMilli(3100))
	want := []int64{1500, 2000, 2500, 3000}
	if len(fired) != len(want) {
		t.Fatalf("fired %v want %v", fired, want)
	}
	for i := range want {
		if fired[i] != want[i] {
			t.Fatalf("fired %v want %v", fired, want)
		}
	}
	if nowAtTick[1] != 1200 || nowAtTick[2] != 2600 {
		t.Fatalf("now at ticks %v", nowAtTick)
	}
}

func TestLiveTimerSerialisedWithHandlers(t *testing.T) {
	e := New(Options{Mode: Live})
	var mu sync.Mutex
	n := 0
	done := make(chan struct{})
	e.After(time.Millisecond, "once", func() { mu.Lock(); n++; mu.Unlock(); close(done) })
	stopped := e.After(time.Millisecond, "stopped", func() { t.Error("stopped timer fired") })
	stopped.Stop()
	<-done
	time.Sleep(5 * time.Millisecond)
	if n != 1 {
		t.Fatalf("n=%d", n)
	}
}

func TestConcurrentEmitStampsUniqueSeq(t *testing.T) {
	e := New(Options{Mode: Live, SeqStart: 1})
	seen := map[uint64]bool{}
	On(e, "s", func(tk *schema.Ticker) {
		if seen[tk.Seq] {
			t.Errorf("duplicate seq %d", tk.Seq)
		}
		seen[tk.Seq] = true
	})
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 1000; i++ {
				e.Emit(&schema.Ticker{})
			}
		}()
	}
	wg.Wait()
	if len(seen) != 4000 {
		t.Fatalf("saw %d", len(seen))
	}
}

// BenchmarkDispatch measures one event through 3 typed handlers; report ns/op ÷ 3 per handler.
// BenchmarkBaselineFuncSlice is the same work through a bare []func, measured in the same run.
func BenchmarkDispatch(b *testing.B) {
	e := New(Options{Mode: Live})
	var sum float64
	for i := 0; i < 3; i++ {
		On(e, "h", func(tk *schema.Ticker) { sum += tk.Last })
	}
	tk := &schema.Ticker{Last: 1}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tk.Seq = 0
		e.Emit(tk)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/3, "ns/handler")
	_ = sum
}

func BenchmarkBaselineFuncSlice(b *testing.B) {
	var sum float64
	fs := make([]func(*schema.Ticker), 3)
	for i := range fs {
		fs[i] = func(tk *schema.Ticker) { sum += tk.Last }
	}
	tk := &schema.Ticker{Last: 1}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		for _, f := range fs {
			f(tk)
		}
	}
	_ = sum
}

// BenchmarkEmitReplay is one event through one handler in replay mode (clock advance included).
func BenchmarkEmitReplay(b *testing.B) {
	e := New(Options{Mode: Replay})
	var n int
	On(e, "h", func(*schema.Ticker) { n++ })
	e.Every(time.Hour, "hourly", func() {})
	tk := &schema.Ticker{}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		tk.Ts = int64(i)
		e.Emit(tk)
	}
}

// TestLockDispatchExcludesOtherEmitters: while one goroutine holds the dispatch lock and emits with
// EmitLocked, another goroutine's Emit waits; every event is dispatched once, one at a time (run with
// -race), and EmitLocked moves the replay clock to the time it is given, never back.
func TestLockDispatchExcludesOtherEmitters(t *testing.T) {
	e := New(Options{Mode: Replay})
	var order []int64
	var now []int64
	On(e, "s", func(tk *schema.Ticker) {
		order = append(order, tk.Ts)
		now = append(now, e.Now().UnixMilli())
	})
	e.LockDispatch()
	other := make(chan struct{})
	go func() {
		e.Emit(&schema.Ticker{Header: schema.Header{Ts: 9000}})
		close(other)
	}()
	// The held emits: the clock follows the given times (a running maximum), not Header.Ts.
	for i, ts := range []int64{1000, 3000, 3000, 5000} {
		e.EmitLocked(&schema.Ticker{Header: schema.Header{Ts: int64(i)}}, ts)
	}
	select {
	case <-other:
		t.Fatal("another goroutine's Emit ran while the dispatch lock was held")
	default:
	}
	e.UnlockDispatch()
	<-other
	if want := []int64{0, 1, 2, 3, 9000}; !reflect.DeepEqual(order, want) {
		t.Fatalf("dispatched %v, want %v", order, want)
	}
	if want := []int64{1000, 3000, 3000, 5000, 9000}; !reflect.DeepEqual(now, want) {
		t.Fatalf("clock %v, want %v", now, want)
	}
	if e.Dispatched(schema.KindTicker) != 5 {
		t.Fatalf("dispatched %d", e.Dispatched(schema.KindTicker))
	}
}
