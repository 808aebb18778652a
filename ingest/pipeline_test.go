package ingest

import (
	"errors"
	"testing"

	"github.com/okxtape/okxtape/ingest/book"
	"github.com/okxtape/okxtape/ingest/decode"
	"github.com/okxtape/okxtape/schema"
)

// TestPipelineRoutes: a book message goes through the book manager (validated book, then its quote), other
// events straight to emit, OnEvent sees each decoded event once; control frames and unknown channels are
// errors of their kind.
func TestPipelineRoutes(t *testing.T) {
	var got []schema.Kind
	emit := func(e schema.Event) { got = append(got, e.Kind()) }
	mgr := book.NewManager(book.Options{Emit: emit})
	defer mgr.Close()
	p := NewPipeline(mgr, emit)
	seen := 0
	p.OnEvent = func(schema.Event) { seen++ }
	frames := []string{
		`{"arg":{"channel":"tickers","instId":"BTC-USDT"},"data":[{"instId":"BTC-USDT","last":"1","ts":"1"}]}`,
		`{"arg":{"channel":"books5","instId":"BTC-USDT"},"data":[{"asks":[["2","1","0","1"]],"bids":[["1","1","0","1"]],"ts":"2","seqId":5}]}`,
	}
	for _, f := range frames {
		if _, err := p.Frame([]byte(f), 1); err != nil {
			t.Fatal(err)
		}
	}
	want := []schema.Kind{schema.KindTicker, schema.KindBook, schema.KindQuote}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] || seen != 2 {
		t.Fatalf("routed %v (OnEvent saw %d), want %v (2)", got, seen, want)
	}
	if _, err := p.Frame([]byte(`{"event":"subscribe","arg":{"channel":"tickers"}}`), 1); !errors.Is(err, decode.ErrMalformed) {
		t.Fatalf("control frame: %v", err)
	}
	if _, err := p.Frame([]byte(`{"arg":{"channel":"nosuch"},"data":[{}]}`), 1); !errors.Is(err, decode.ErrUnknownChannel) {
		t.Fatalf("unknown channel: %v", err)
	}
}
