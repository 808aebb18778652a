package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/okxtape/okxtape/internal/storetest"
	"github.com/okxtape/okxtape/schema"
	"github.com/okxtape/okxtape/store"
	"github.com/okxtape/okxtape/store/parquet"
)

// TestSynthesizeDay writes a 24-hour store through the Parquet sink for measuring `replay report` on a long
// range (README's figures): OKXTAPE_SYNTH_DIR=/path go test -run TestSynthesizeDay ./e2e/ [OKXTAPE_SYNTH_RATE
// events/s per stream, default 10]. Two instruments × tickers, trades, books (+quotes), candle1m; an outage
// every hour, a book incident every 6 hours, three sessions of which one crashed. It is a tool, not a check:
// it skips unless the folder is given.
func TestSynthesizeDay(t *testing.T) {
	dir := os.Getenv("OKXTAPE_SYNTH_DIR")
	if dir == "" {
		t.Skip("OKXTAPE_SYNTH_DIR not set")
	}
	rate := 10
	if v, err := strconv.Atoi(os.Getenv("OKXTAPE_SYNTH_RATE")); err == nil && v > 0 {
		rate = v
	}
	if 1000%rate != 0 || (1000/rate)%5 != 0 && rate != 1000 {
		t.Fatalf("OKXTAPE_SYNTH_RATE %d: use a rate whose interval divides the outage and incident times (1, 2, 4, 5, 8, 10, 20, 25, 40, 50, 100, 200)", rate)
	}
	day := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	clock := day
	sink := parquet.NewSink(dir, parquet.Options{Now: func() time.Time { return clock }, Logger: storetest.Quiet()})
	ctx := context.Background()
	if err := sink.Open(ctx); err != nil {
		t.Fatal(err)
	}
	seq := uint64(day.UnixNano())
	batches := map[*schema.Table][]schema.Stored{}
	flush := func(tb *schema.Table) {
		if len(batches[tb]) == 0 {
			return
		}
		if err := sink.Write(ctx, store.Batch{Table: tb, Events: batches[tb]}); err != nil {
			t.Fatal(err)
		}
		batches[tb] = batches[tb][:0]
	}
	emit := func(e schema.Stored) {
		seq++
		e.Hdr().Seq = seq
		tb := schema.TableOf(e.Kind())
		batches[tb] = append(batches[tb], e)
		if len(batches[tb]) >= 1000 {
			flush(tb)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	insts := []string{"BTC-USDT", "ETH-USDT"}
	dayMs := day.UnixMilli()
	ms := func(h, m, s int) int64 { return dayMs + int64(h)*3600000 + int64(m)*60000 + int64(s)*1000 }
	sess := func(id string, start, end int64) {
		s := &schema.Session{Header: schema.Header{Ts: start}, SessionID: id, StartMs: start, Host: "synth", Version: "synth",
			Channels: "tickers,trades,books,candle1m", Instruments: "BTC-USDT,ETH-USDT"}
		emit(s)
		if end > 0 {
			emit(&schema.Session{Header: s.Header, SessionID: id, StartMs: start, EndMs: end, Host: s.Host, Version: s.Version,
				Channels: s.Channels, Instruments: s.Instruments})
		}
	}
	sess("a", ms(0, 0, 0), ms(8, 0, 0))
	sess("b", ms(8, 5, 0), 0) // crashes at 16:00
	sess("c", ms(16, 2, 0), ms(24, 0, 0)-1)
	down := func(t int64) bool {
		if (t >= ms(8, 0, 0) && t < ms(8, 5, 0)) || (t >= ms(16, 0, 0) && t < ms(16, 2, 0)) {
			return true
		}
		into := (t - dayMs) % 3600000
		return into >= 1800000 && into < 1805000 // a 5 s outage at half past every hour
	}
	step := int64(1000 / rate)
	bookSeq := map[string]int64{}
	for tms := dayMs; tms < ms(24, 0, 0); tms += step {
		clock = time.UnixMilli(tms)
		into := (tms - dayMs) % 3600000
		if into == 1805000 {
			emit(&schema.Gap{Header: schema.Header{Ts: tms - 5000}, FromMs: tms - 5000, ToMs: tms, Reason: schema.GapDisconnect,
				Conn: "public#0", Detail: "tickers:BTC-USDT,tickers:ETH-USDT,trades:BTC-USDT,trades:ETH-USDT,books:BTC-USDT,books:ETH-USDT"})
		}
		if down(tms) {
			continue
		}
		for _, inst := range insts {
			h := schema.Header{Channel: "tickers", InstID: inst, Ts: tms, RecvNs: (tms+1)*1e6 + r.Int64N(3e6)}
			emit(&schema.Ticker{Header: h, Last: 100 + r.Float64(), BidPx: 99, AskPx: 101, BidSz: 1, AskSz: 1})
			h.Channel = "trades"
			emit(&schema.Trade{Header: h, TradeID: int64(seq % (1 << 40)), Px: 100, Sz: r.Float64(), Side: schema.SideBuy})
			h.Channel = "books"
			if inc := (tms - dayMs) % (6 * 3600000); inst == "ETH-USDT" && inc >= 3*3600000-800 && inc < 3*3600000+300 {
				continue // the book incident's blind window (its gap rows are written below)
			}
			b := &schema.Book{Header: h, Action: schema.ActionUpdate, SeqID: bookSeq[inst] + 1, PrevSeqID: bookSeq[inst],
				Bids: []schema.Level{{Px: 99, Sz: 1, Orders: 1}}, Asks: []schema.Level{{Px: 101, Sz: 1, Orders: 1}}}
			if bookSeq[inst] == 0 || into == 0 {
				b.Action, b.PrevSeqID = schema.ActionSnapshot, -1
			}
			bookSeq[inst] = b.SeqID
			emit(b)
			emit(&schema.Quote{Header: h, SeqID: b.SeqID, BidPx: 99, BidSz: 1, AskPx: 101, AskSz: 1})
			if (tms-dayMs)%1000 == 0 {
				h.Channel = "candle1m"
				h.Ts = tms - (tms-dayMs)%60000
				emit(&schema.Candle{Header: h, Open: 1, High: 2, Low: 0.5, Close: 1.5})
			}
		}
		if (tms-dayMs)%(6*3600000) == 3*3600000 {
			emit(&schema.Gap{Header: schema.Header{Channel: "books", InstID: "ETH-USDT", Ts: tms - 800}, FromMs: tms - 800, ToMs: tms,
				Reason: schema.GapSequence, Conn: "public#0", Detail: "synthetic"})
			emit(&schema.Gap{Header: schema.Header{Channel: "books", InstID: "ETH-USDT", Ts: tms - 800}, FromMs: tms - 800, ToMs: tms + 300,
				Reason: schema.GapResync, Conn: "public#0", Detail: "synthetic"})
		}
	}
	for _, tb := range schema.Tables() {
		flush(tb)
	}
	if err := sink.Close(ctx); err != nil {
		t.Fatal(err)
	}
	fmt.Printf("synthesized %d events into %s\n", seq-uint64(day.UnixNano()), dir)
}
