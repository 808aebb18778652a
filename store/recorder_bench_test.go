package store

import (
	"testing"

	"github.com/okxtape/okxtape/internal/storetest"
	"github.com/okxtape/okxtape/schema"
)

// BenchmarkTickerGen is the baseline: the cost of making the synthetic tickers the other benchmarks feed.
func BenchmarkTickerGen(b *testing.B) {
	g := storetest.NewTickerGen(1, 300)
	for i := 0; i < b.N; i++ {
		g.Next()
	}
}

// BenchmarkRecorderHandle measures Handle alone (encode + CRC + append under the mutex); the buffer is
// reset instead of written so the disk does not count.
func BenchmarkRecorderHandle(b *testing.B) {
	rec, err := NewRecorder(RecorderOptions{SpoolDir: b.TempDir(), Logger: storetest.Quiet()})
	if err != nil {
		b.Fatal(err)
	}
	g := storetest.NewTickerGen(1, 300)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rec.Handle(g.Next())
		if i&4095 == 0 {
			rec.sp.mu.Lock()
			rec.sp.pending, rec.sp.sealed, rec.sp.queued = rec.sp.pending[:0], nil, 0
			rec.sp.mu.Unlock()
		}
	}
}

// TestHandleZeroAlloc keeps the hot path cheap: Handle allocates nothing, recording or shedding.
func TestHandleZeroAlloc(t *testing.T) {
	rec, err := NewRecorder(RecorderOptions{SpoolDir: t.TempDir(), Logger: storetest.Quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close(t.Context())
	g := storetest.NewTickerGen(1, 300)
	evs := make([]schema.Stored, 256)
	for i := range evs {
		evs[i] = schema.Clone(g.Next())
	}
	raw := &schema.Raw{}
	for _, lvl := range []int32{diskOK, diskLow, diskCritical} {
		rec.diskLevel.Store(lvl)
		i := 0
		allocs := testing.AllocsPerRun(2000, func() {
			rec.Handle(evs[i%len(evs)])
			rec.Handle(raw)
			i++
			rec.sp.mu.Lock()
			if len(rec.sp.pending) > 32<<10 {
				rec.sp.pending, rec.sp.sealed, rec.sp.queued = rec.sp.pending[:0], nil, 0
			}
			rec.sp.mu.Unlock()
		})
		if allocs != 0 {
			t.Errorf("disk level %s: %v allocations per Handle", diskLevelNames[lvl], allocs)
		}
	}
}
