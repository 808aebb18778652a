package decode

import (
	"errors"
	"math"
	"testing"

	"github.com/okxtape/okxtape/schema"
)

// TestBadValues: an element whose values are not data is dropped and counted per kind; the other elements of
// the same push are still emitted.
func TestBadValues(t *testing.T) {
	good := func(ch string) string {
		switch ch {
		case "books":
			return `{"asks":[["10","1","0","1"]],"bids":[["9","2","0","1"]],"ts":"5","seqId":2,"prevSeqId":1}`
		case "candle1m":
			return `["5","1","2","0.5","1.5","10","11","12","0"]`
		}
		return `{"instId":"A","px":"1","sz":"2","last":"1","tradeId":"1","ts":"5"}`
	}
	tests := []struct {
		name, channel, bad, kind string
	}{
		{"ticker Inf", "tickers", `{"instId":"A","last":"Inf","ts":"5"}`, KindBadNumber},
		{"ticker -Infinity", "tickers", `{"instId":"A","bidPx":"-Infinity","ts":"5"}`, KindBadNumber},
		{"ticker NaN", "tickers", `{"instId":"A","askSz":"NaN","ts":"5"}`, KindBadNumber},
		{"ticker hex float", "tickers", `{"instId":"A","last":"0x1p3","ts":"5"}`, KindBadNumber},
		{"ticker overflow", "tickers", `{"instId":"A","last":"1e999","ts":"5"}`, KindBadNumber},
		{"ticker plus sign", "tickers", `{"instId":"A","last":"+1","ts":"5"}`, KindBadNumber},
		{"ticker underscore", "tickers", `{"instId":"A","last":"0x1_0p0","ts":"5"}`, KindBadNumber},
		{"ticker bare infinity", "tickers", `{"instId":"A","last":Infinity,"ts":"5"}`, KindBadNumber},
		{"ticker without ts", "tickers", `{"instId":"A","last":"1"}`, KindNoTs},
		{"ticker ts empty", "tickers", `{"instId":"A","last":"1","ts":""}`, KindNoTs},
		{"ticker ts zero", "tickers", `{"instId":"A","last":"1","ts":"0"}`, KindNoTs},
		{"trade NaN price", "trades", `{"instId":"A","px":"NaN","sz":"1","tradeId":"2","ts":"5"}`, KindBadNumber},
		{"trade without ts", "trades", `{"instId":"A","px":"1","sz":"1","tradeId":"2"}`, KindNoTs},
		{"trade negative ts", "trades", `{"instId":"A","px":"1","sz":"1","tradeId":"2","ts":"-3"}`, KindNoTs},
		{"book zero price", "books", `{"asks":[["0","1","0","1"]],"bids":[],"ts":"5","seqId":3,"prevSeqId":2}`, KindBadLevel},
		{"book negative price", "books", `{"asks":[],"bids":[["-1","1","0","1"]],"ts":"5","seqId":3,"prevSeqId":2}`, KindBadLevel},
		{"book negative size", "books", `{"asks":[["10","-2","0","1"]],"bids":[],"ts":"5","seqId":3,"prevSeqId":2}`, KindBadLevel},
		{"book empty price", "books", `{"asks":[["","1","0","1"]],"bids":[],"ts":"5","seqId":3,"prevSeqId":2}`, KindBadLevel},
		{"book empty size", "books", `{"asks":[["10","","0","1"]],"bids":[],"ts":"5","seqId":3,"prevSeqId":2}`, KindBadLevel},
		{"book NaN price", "books", `{"asks":[["NaN","1","0","1"]],"bids":[],"ts":"5","seqId":3,"prevSeqId":2}`, KindBadNumber},
		{"book without ts", "books", `{"asks":[["10","1","0","1"]],"bids":[],"seqId":3,"prevSeqId":2}`, KindNoTs},
		{"candle Inf", "candle1m", `["5","1","Inf","0.5","1.5","10","11","12","0"]`, KindBadNumber},
		{"candle without ts", "candle1m", `["0","1","2","0.5","1.5","10","11","12","0"]`, KindNoTs},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dec := NewDecoder()
			frame := `{"arg":{"channel":"` + tc.channel + `","instId":"A"},"action":"update","data":[` +
				good(tc.channel) + `,` + tc.bad + `,` + good(tc.channel) + `]}`
			evs, _, err := decodeAll(t, dec, []byte(frame))
			var ve *ValueError
			if !errors.As(err, &ve) || !errors.Is(err, ErrBadValue) || errors.Is(err, ErrMalformed) {
				t.Fatalf("err %v, want a *ValueError", err)
			}
			if len(ve.Counts) != 1 || ve.Counts[tc.kind] != 1 || ve.First == "" {
				t.Fatalf("counts %v (first %q), want %s 1", ve.Counts, ve.First, tc.kind)
			}
			if len(evs) != 2 {
				t.Fatalf("%d events emitted, want the 2 good ones", len(evs))
			}
			for _, ev := range evs {
				if ev.Hdr().Ts != 5 {
					t.Fatalf("emitted %+v", ev)
				}
			}
			if st := dec.Stats(); st.BadValue != 1 || st.Malformed != 0 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

// TestGoodValuesPass: decimals in every spelling OKX uses, and an update deleting a level (size 0), are data.
func TestGoodValuesPass(t *testing.T) {
	dec := NewDecoder()
	frame := `{"arg":{"channel":"tickers","instId":"A"},"data":[` +
		`{"last":"1e3","bidPx":"-0.5","askPx":"0.000001","askSz":"12345678901234567890.5","bidSz":"1E-7","ts":"5"}]}`
	evs, _, err := decodeAll(t, dec, []byte(frame))
	if err != nil || len(evs) != 1 {
		t.Fatalf("%v, %d events", err, len(evs))
	}
	tk := evs[0].(*schema.Ticker)
	if tk.Last != 1000 || tk.BidPx != -0.5 || tk.BidSz != 1e-7 || math.IsNaN(tk.AskSz) {
		t.Fatalf("%+v", tk)
	}
	frame = `{"arg":{"channel":"books","instId":"A"},"action":"update","data":[{"asks":[["10","0","0","0"]],"bids":[],"ts":"5","seqId":3,"prevSeqId":2}]}`
	if evs, _, err := decodeAll(t, dec, []byte(frame)); err != nil || len(evs) != 1 {
		t.Fatalf("delete-level update: %v, %d events", err, len(evs))
	}
}

// TestRESTBadValues: the REST snapshot and trades parsers refuse the same values.
func TestRESTBadValues(t *testing.T) {
	for _, body := range []string{
		`{"code":"0","data":[{"asks":[["10","-1","0","1"]],"bids":[],"ts":"5","seqId":"3"}]}`,
		`{"code":"0","data":[{"asks":[["Inf","1","0","1"]],"bids":[],"ts":"5","seqId":"3"}]}`,
		`{"code":"0","data":[{"asks":[["0","1","0","1"]],"bids":[],"ts":"5","seqId":"3"}]}`,
		`{"code":"0","data":[{"asks":[["10","1","0","1"]],"bids":[],"seqId":"3"}]}`,
	} {
		if _, _, err := ParseRESTBooks([]byte(body)); !errors.Is(err, ErrBadValue) {
			t.Errorf("books %s: %v", body, err)
		}
	}
	if _, err := ParseRESTTrades([]byte(`{"code":"0","data":[{"px":"NaN","sz":"1","ts":"5"}]}`)); !errors.Is(err, ErrBadValue) {
		t.Errorf("trades: %v", err)
	}
	if _, _, err := ParseRESTBooks([]byte(`{"code":"0","data":[{"asks":[["10","1","0","1"]],"bids":[["9","1","0","1"]],"ts":"5","seqId":"3"}]}`)); err != nil {
		t.Errorf("good snapshot: %v", err)
	}
}

func TestIsDecimal(t *testing.T) {
	for s, want := range map[string]bool{"1": true, "-1.5": true, "1.": true, ".5": true, "1e5": true, "1E-5": true,
		"1e+5": true, "": false, "-": false, ".": false, "1e": false, "e5": false, "Inf": false, "NaN": false,
		"0x10": false, "+1": false, "1_0": false, "1.2.3": false, "--1": false} {
		if got := isDecimal([]byte(s)); got != want {
			t.Errorf("isDecimal(%q) = %v", s, got)
		}
	}
}
