package ingest

import (
	"log/slog"
	"testing"

	"github.com/okxtape/okxtape/ingest/decode"
	"github.com/okxtape/okxtape/schema"
)

var tickerFrame = []byte(`{"arg":{"channel":"tickers","instId":"BTC-USDT"},"data":[{"instType":"SPOT","instId":"BTC-USDT",` +
	`"last":"9999.99","lastSz":"0.1","askPx":"9999.99","askSz":"11","bidPx":"8888.88","bidSz":"5","open24h":"9000",` +
	`"high24h":"10000","low24h":"8888.88","volCcy24h":"2222","vol24h":"2222","sodUtc0":"2222","sodUtc8":"2222",` +
	`"ts":"1597026383085"}]}`)

// benchConn is a connection without a socket: handle() is the reader's per-frame work.
func benchConn(b *testing.B, noRaw bool) *conn {
	c, err := New(Config{WSURL: "ws://127.0.0.1:1", Subscriptions: []decode.Arg{sub("tickers", "BTC-USDT")},
		Emit: func(schema.Event) {}, RawFrames: !noRaw, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	s := c.slots[0]
	cn := &conn{c: c, s: s, label: s.label, endpoint: s.endpoint, pipe: NewPipeline(s.books, c.cfg.Emit),
		chans: map[string]*chanCounters{}, state: map[string]argState{}, requests: map[string]*request{}}
	cn.pipe.OnEvent = cn.count
	return cn
}

// BenchmarkHandle measures the client's per-frame overhead against the bare decoder (baseline).
func BenchmarkHandle(b *testing.B) {
	b.Run("baseline-decode-only", func(b *testing.B) {
		dec := decode.NewDecoder()
		var env decode.Envelope
		emit := func(schema.Event) {}
		b.ReportAllocs()
		b.SetBytes(int64(len(tickerFrame)))
		for b.Loop() {
			if err := dec.Envelope(tickerFrame, &env); err != nil {
				b.Fatal(err)
			}
			if _, err := dec.Push(&env, tickerFrame, 1, emit); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, noRaw := range []bool{true, false} {
		name := "client-raw"
		if noRaw {
			name = "client-noraw"
		}
		b.Run(name, func(b *testing.B) {
			cn := benchConn(b, noRaw)
			b.ReportAllocs()
			b.SetBytes(int64(len(tickerFrame)))
			for b.Loop() {
				cn.handle(tickerFrame, 1597026383085000000)
			}
		})
	}
}
