package replay

import (
	"bytes"
	"math"
	"testing"

	"github.com/okxtape/okxtape/ingest/decode"
	"github.com/okxtape/okxtape/schema"
)

// canon is an event's stored row without local columns (seq, recv_ns).
func canon(e schema.Stored) []byte {
	c := schema.Clone(e)
	c.Hdr().Seq, c.Hdr().RecvNs = 0, 0
	return schema.AppendRow(nil, c)
}

func TestRenderedPushesDecodeToTheSameEvents(t *testing.T) {
	hdr := func(ch string) schema.Header {
		return schema.Header{Seq: 5, RecvNs: 9, Channel: ch, InstID: "BTC-USDT-SWAP", Ts: 1597026383085}
	}
	events := []schema.Stored{
		ticker(1, 1597026383085, "BTC-USDT", 9999.99),
		&schema.Ticker{Header: hdr("tickers"), InstType: "SWAP", Last: 1, LastSz: math.NaN(), AskPx: 2, AskSz: 3,
			BidPx: 0.1, BidSz: 1e-8, Open24h: 1, High24h: 2, Low24h: 0.5, VolCcy24h: 1e9, Vol24h: 12, SodUtc0: 1, SodUtc8: 1},
		trade(2, 1630048897897, "BTC-USDT", 130639474, 42219.9),
		&schema.Trade{Header: hdr("trades-all"), TradeID: 7, Px: 1.5, Sz: 2, Side: schema.SideSell, Count: 1},
		&schema.Trade{Header: hdr("trades"), TradeID: 8, Px: 1.5, Sz: 2, Side: schema.SideSell, Count: 3, Source: 1, SeqID: 1234},
		&schema.Candle{Header: hdr("candle1m"), Open: 1, High: 2, Low: 0.5, Close: 1.5, Vol: 10, VolCcy: 15, VolCcyQuote: 15, Confirm: true},
		&schema.Candle{Header: hdr("candle1H"), Open: 1, High: 2, Low: 0.5, Close: 1.5, Vol: 10, VolCcy: 15, VolCcyQuote: 15},
		&schema.FundingRate{Header: hdr("funding-rate"), InstType: "SWAP", Method: "current_period", FundingRate: 0.0001,
			NextFundingRate: math.NaN(), FundingTime: 1597026400000, NextFundingTime: 1597055200000, MinFundingRate: -0.01,
			MaxFundingRate: 0.01, InterestRate: 0.0001, ImpactValue: 100, Premium: 0.0002, SettState: "settled", SettFundingRate: 0.0001},
		&schema.MarkPrice{Header: hdr("mark-price"), InstType: "SWAP", MarkPx: 42000.1},
		&schema.IndexTicker{Header: schema.Header{Channel: "index-tickers", InstID: "BTC-USDT", Ts: 5}, IdxPx: 1, Open24h: 2, High24h: 3, Low24h: 0.5, SodUtc0: 1, SodUtc8: 1},
		&schema.OpenInterest{Header: hdr("open-interest"), InstType: "SWAP", OI: 5, OICcy: 0.05, OIUsd: 2100},
		&schema.Book{Header: hdr("books"), Action: schema.ActionSnapshot, SeqID: 123456, PrevSeqID: -1, Checksum: -1881014294,
			Bids: []schema.Level{{Px: 8476.97, Sz: 256, Orders: 12}}, Asks: []schema.Level{{Px: 8476.98, Sz: 415, Orders: 13}, {Px: 8477, Sz: 7, Orders: 2}}},
		&schema.Book{Header: hdr("books"), Action: schema.ActionUpdate, SeqID: 123457, PrevSeqID: 123456,
			Asks: []schema.Level{{Px: 8476.98, Sz: 0}}},
		&schema.Book{Header: hdr("books5"), Action: schema.ActionSnapshot, SeqID: 363996337,
			Bids: []schema.Level{{Px: 111.05, Sz: 57745, Orders: 2}}, Asks: []schema.Level{{Px: 111.06, Sz: 55154, Orders: 2}}},
		&schema.Book{Header: hdr("bbo-tbt"), Action: schema.ActionSnapshot, SeqID: 363996338,
			Bids: []schema.Level{{Px: 111.05, Sz: 57745, Orders: 2}}, Asks: []schema.Level{{Px: 111.06, Sz: 55154, Orders: 2}}},
	}
	dec := decode.NewDecoder()
	for _, want := range events {
		frame, ok := AppendPush(nil, want)
		if !ok {
			t.Fatalf("%s: no push form", want.Kind())
		}
		var env decode.Envelope
		if err := dec.Envelope(frame, &env); err != nil {
			t.Fatalf("%s: %v\n%s", want.Hdr().Channel, err, frame)
		}
		var got []schema.Stored
		if _, err := dec.Push(&env, frame, 0, func(e schema.Event) { got = append(got, schema.Clone(e.(schema.Stored))) }); err != nil {
			t.Fatalf("%s: %v\n%s", want.Hdr().Channel, err, frame)
		}
		if len(got) != 1 || !bytes.Equal(canon(got[0]), canon(want)) {
			t.Fatalf("%s: round trip differs\nframe %s\ngot  %+v\nwant %+v", want.Hdr().Channel, frame, got, want)
		}
	}
	if _, ok := AppendPush(nil, &schema.Gap{}); ok {
		t.Fatal("a gap rendered as a push")
	}
}
