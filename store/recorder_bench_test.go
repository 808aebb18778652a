package store

import (
	"testing"

	"github.com/okxtape/okxtape/internal/storetest"
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
