package decode

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/okxtape/okxtape/schema"
)

// The ticker is the 334-byte OKX documentation sample used in docs/performance.md B1.
const tickerFrame = `{"arg":{"channel":"tickers","instId":"BTC-USDT"},"data":[{"instType":"SPOT","instId":"BTC-USDT","last":"9999.99","lastSz":"0.1","askPx":"9999.99","askSz":"11","bidPx":"8888.88","bidSz":"5","open24h":"9000","high24h":"10000","low24h":"8888.88","volCcy24h":"2222","vol24h":"2222","sodUtc0":"2222","sodUtc8":"2222","ts":"1597026383085"}]}`

const tradesFrame = `{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"instId":"BTC-USDT","tradeId":"130639474","px":"42219.9","sz":"0.12060306","side":"buy","ts":"1630048897897","count":"3","source":"0","seqId":1234}]}`

// bookSnapshotFrame builds a books snapshot with levels bids and levels asks.
func bookSnapshotFrame(levels int) []byte {
	var b strings.Builder
	b.WriteString(`{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"snapshot","data":[{"asks":[`)
	for i := 0; i < levels; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `["%s","%s","0","%d"]`, strconv.FormatFloat(30000.1+float64(i)*0.1, 'f', -1, 64),
			strconv.FormatFloat(0.001*float64(i%97+1), 'f', -1, 64), i%13+1)
	}
	b.WriteString(`],"bids":[`)
	for i := 0; i < levels; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `["%s","%s","0","%d"]`, strconv.FormatFloat(30000-float64(i)*0.1, 'f', -1, 64),
			strconv.FormatFloat(0.0125*float64(i%31+1), 'f', -1, 64), i%7+1)
	}
	b.WriteString(`],"ts":"1597026383085","checksum":-855196043,"prevSeqId":-1,"seqId":123456}]}`)
	return []byte(b.String())
}

// Baseline decoders: encoding/json into structs of strings, then strconv into the same schema events.
// The tests also use them as an independent reference.

type jsonArg struct {
	Channel string `json:"channel"`
	InstID  string `json:"instId"`
}

type jsonTickerFrame struct {
	Arg  jsonArg `json:"arg"`
	Data []struct {
		InstType  string `json:"instType"`
		InstID    string `json:"instId"`
		Last      string `json:"last"`
		LastSz    string `json:"lastSz"`
		AskPx     string `json:"askPx"`
		AskSz     string `json:"askSz"`
		BidPx     string `json:"bidPx"`
		BidSz     string `json:"bidSz"`
		Open24h   string `json:"open24h"`
		High24h   string `json:"high24h"`
		Low24h    string `json:"low24h"`
		VolCcy24h string `json:"volCcy24h"`
		Vol24h    string `json:"vol24h"`
		SodUtc0   string `json:"sodUtc0"`
		SodUtc8   string `json:"sodUtc8"`
		Ts        string `json:"ts"`
	} `json:"data"`
}

func pf(s string) float64 {
	if s == "" {
		return math.NaN()
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		panic(err)
	}
	return f
}

func pi(s string, def int64) int64 {
	if s == "" {
		return def
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		panic(err)
	}
	return v
}

func baselineTickers(frame []byte, recvNs int64, emit func(schema.Event)) error {
	var f jsonTickerFrame
	if err := json.Unmarshal(frame, &f); err != nil {
		return err
	}
	for _, d := range f.Data {
		t := schema.Ticker{Header: schema.Header{RecvNs: recvNs, Channel: f.Arg.Channel, InstID: d.InstID, Ts: pi(d.Ts, 0)},
			InstType: d.InstType, Last: pf(d.Last), LastSz: pf(d.LastSz), AskPx: pf(d.AskPx), AskSz: pf(d.AskSz),
			BidPx: pf(d.BidPx), BidSz: pf(d.BidSz), Open24h: pf(d.Open24h), High24h: pf(d.High24h), Low24h: pf(d.Low24h),
			VolCcy24h: pf(d.VolCcy24h), Vol24h: pf(d.Vol24h), SodUtc0: pf(d.SodUtc0), SodUtc8: pf(d.SodUtc8)}
		if t.InstID == "" {
			t.InstID = f.Arg.InstID
		}
		emit(&t)
	}
	return nil
}

type jsonTradesFrame struct {
	Arg  jsonArg `json:"arg"`
	Data []struct {
		InstID  string `json:"instId"`
		TradeID string `json:"tradeId"`
		Px      string `json:"px"`
		Sz      string `json:"sz"`
		Side    string `json:"side"`
		Ts      string `json:"ts"`
		Count   string `json:"count"`
		Source  string `json:"source"`
		SeqID   *int64 `json:"seqId"`
	} `json:"data"`
}

func baselineTrades(frame []byte, recvNs int64, emit func(schema.Event)) error {
	var f jsonTradesFrame
	if err := json.Unmarshal(frame, &f); err != nil {
		return err
	}
	for _, d := range f.Data {
		t := schema.Trade{Header: schema.Header{RecvNs: recvNs, Channel: f.Arg.Channel, InstID: d.InstID, Ts: pi(d.Ts, 0)},
			TradeID: pi(d.TradeID, 0), Px: pf(d.Px), Sz: pf(d.Sz), Side: d.Side, Count: pi(d.Count, 1), Source: pi(d.Source, 0)}
		if d.SeqID != nil {
			t.SeqID = *d.SeqID
		}
		if t.InstID == "" {
			t.InstID = f.Arg.InstID
		}
		emit(&t)
	}
	return nil
}

type jsonBookFrame struct {
	Arg    jsonArg `json:"arg"`
	Action string  `json:"action"`
	Data   []struct {
		Asks      [][]string `json:"asks"`
		Bids      [][]string `json:"bids"`
		Ts        string     `json:"ts"`
		Checksum  int64      `json:"checksum"`
		PrevSeqID int64      `json:"prevSeqId"`
		SeqID     int64      `json:"seqId"`
	} `json:"data"`
}

func jsonLevels(in [][]string) []schema.Level {
	out := make([]schema.Level, 0, len(in))
	for _, l := range in {
		lv := schema.Level{Px: pf(l[0]), Sz: pf(l[1])}
		if len(l) > 3 {
			lv.Orders = pi(l[3], 0)
		}
		out = append(out, lv)
	}
	return out
}

func baselineBooks(frame []byte, recvNs int64, emit func(schema.Event)) error {
	var f jsonBookFrame
	if err := json.Unmarshal(frame, &f); err != nil {
		return err
	}
	for _, d := range f.Data {
		emit(&schema.Book{Header: schema.Header{RecvNs: recvNs, Channel: f.Arg.Channel, InstID: f.Arg.InstID, Ts: pi(d.Ts, 0)},
			Action: f.Action, SeqID: d.SeqID, PrevSeqID: d.PrevSeqID, Checksum: d.Checksum,
			Bids: jsonLevels(d.Bids), Asks: jsonLevels(d.Asks)})
	}
	return nil
}

// TestBaselinesAgree checks that the benchmarked decoders produce identical events.
func TestBaselinesAgree(t *testing.T) {
	for _, c := range []struct {
		frame []byte
		base  func([]byte, int64, func(schema.Event)) error
	}{{[]byte(tickerFrame), baselineTickers}, {[]byte(tradesFrame), baselineTrades}, {bookSnapshotFrame(400), baselineBooks}} {
		var want []schema.Stored
		if err := c.base(c.frame, 42, func(e schema.Event) { want = append(want, e.(schema.Stored)) }); err != nil {
			t.Fatal(err)
		}
		got, _, err := decodeAll(t, NewDecoder(), c.frame)
		if err != nil {
			t.Fatal(err)
		}
		sameEvents(t, got, want)
	}
}

var sink float64

func benchOurs(b *testing.B, frame []byte) {
	dec := NewDecoder()
	var env Envelope
	emit := func(e schema.Event) { sink += float64(e.Hdr().Ts) }
	if err := dec.Envelope(frame, &env); err != nil { // warm the intern table and level slices
		b.Fatal(err)
	}
	if _, err := dec.Push(&env, frame, 1, emit); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		if err := dec.Envelope(frame, &env); err != nil {
			b.Fatal(err)
		}
		if _, err := dec.Push(&env, frame, 1, emit); err != nil {
			b.Fatal(err)
		}
	}
}

func benchBaseline(b *testing.B, frame []byte, base func([]byte, int64, func(schema.Event)) error) {
	emit := func(e schema.Event) { sink += float64(e.Hdr().Ts) }
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		if err := base(frame, 1, emit); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeTicker(b *testing.B) { benchOurs(b, []byte(tickerFrame)) }
func BenchmarkDecodeTickerBaseline(b *testing.B) {
	benchBaseline(b, []byte(tickerFrame), baselineTickers)
}
func BenchmarkDecodeTrade(b *testing.B) { benchOurs(b, []byte(tradesFrame)) }
func BenchmarkDecodeTradeBaseline(b *testing.B) {
	benchBaseline(b, []byte(tradesFrame), baselineTrades)
}
func BenchmarkDecodeBook400(b *testing.B) { benchOurs(b, bookSnapshotFrame(400)) }
func BenchmarkDecodeBook400Baseline(b *testing.B) {
	benchBaseline(b, bookSnapshotFrame(400), baselineBooks)
}
