package sim

import (
	"testing"
	"time"
)

// BenchmarkBookUpdate measures one books update (step, diff, encode) for a 400-level book, with the
// books5 snapshot encode as the baseline.
func BenchmarkBookUpdate(b *testing.B) {
	s, err := New(Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	in := s.byID["BTC-USDT"]
	base := genBase{s: s, in: in, m: in.mkt, prefix: pushPrefix("books", "instId", in.ID)}
	b.Run("books5-baseline", func(b *testing.B) {
		g := &topGen{genBase: base, depth: 5, withInst: true}
		now := time.Now()
		for b.Loop() {
			g.tick(now)
		}
	})
	for _, cs := range []bool{false, true} {
		name := "books"
		if cs {
			name = "books-checksum"
		}
		b.Run(name, func(b *testing.B) {
			g := &booksGen{genBase: base, f: &s.cfg.Faults, checksum: cs}
			in.mkt.mu.Lock()
			g.v = in.mkt.attach(400)
			in.mkt.mu.Unlock()
			defer g.stop()
			now := time.Now()
			for b.Loop() {
				g.tick(now)
			}
		})
	}
}

// BenchmarkTradeTick measures one trades push (book step, trade, encode), the stream benchreport's live runs
// drive at 20k frames/s, with a tickers push beside it.
func BenchmarkTradeTick(b *testing.B) {
	s, err := New(Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	in := s.byID["BTC-USDT"]
	now := time.Now()
	b.Run("trades", func(b *testing.B) {
		g := &tradesGen{genBase: genBase{s: s, in: in, m: in.mkt, prefix: pushPrefix("trades", "instId", in.ID)}}
		for b.Loop() {
			g.tick(now)
		}
	})
	b.Run("tickers", func(b *testing.B) {
		g := &tickersGen{genBase: genBase{s: s, in: in, m: in.mkt, prefix: pushPrefix("tickers", "instId", in.ID)}}
		for b.Loop() {
			g.tick(now)
		}
	})
}
