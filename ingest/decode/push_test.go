package decode

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/okxtape/okxtape/schema"
)

var n = math.NaN()

func hdr(ch, inst string, ts int64) schema.Header {
	return schema.Header{RecvNs: 42, Channel: ch, InstID: inst, Ts: ts}
}

// sameEvents compares events through their binary rows (NaN-safe, covers every stored field).
func sameEvents(t *testing.T, got []schema.Event, want []schema.Stored) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d events, want %d: %s", len(got), len(want), dump(got))
	}
	for i := range want {
		g, ok := got[i].(schema.Stored)
		if !ok || g.Kind() != want[i].Kind() ||
			!bytes.Equal(schema.AppendRow(nil, g), schema.AppendRow(nil, want[i])) {
			t.Fatalf("event %d:\ngot  %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

func dump(evs []schema.Event) string {
	var b strings.Builder
	for _, e := range evs {
		fmt.Fprintf(&b, "\n  %T %+v", e, e)
	}
	return b.String()
}

func TestPushChannels(t *testing.T) {
	tests := []struct {
		name  string
		frame string
		want  []schema.Stored
	}{
		{"tickers", `{"arg":{"channel":"tickers","instId":"BTC-USDT"},"data":[{"instType":"SPOT","instId":"BTC-USDT","last":"9999.99","lastSz":"0.1","askPx":"9999.99","askSz":"11","bidPx":"8888.88","bidSz":"5","open24h":"9000","high24h":"10000","low24h":"8888.88","volCcy24h":"2222","vol24h":"2222","sodUtc0":"2222","sodUtc8":"2223","ts":"1597026383085"}]}`,
			[]schema.Stored{&schema.Ticker{Header: hdr("tickers", "BTC-USDT", 1597026383085), InstType: "SPOT", Last: 9999.99,
				LastSz: 0.1, AskPx: 9999.99, AskSz: 11, BidPx: 8888.88, BidSz: 5, Open24h: 9000, High24h: 10000, Low24h: 8888.88,
				VolCcy24h: 2222, Vol24h: 2222, SodUtc0: 2222, SodUtc8: 2223}}},
		{"tickers empty and missing → NaN, instId from arg", `{"arg":{"channel":"tickers","instId":"X-Y"},"data":[{"last":"","askPx":"1e3","ts":"7"}]}`,
			[]schema.Stored{&schema.Ticker{Header: hdr("tickers", "X-Y", 7), Last: n, LastSz: n, AskPx: 1000, AskSz: n, BidPx: n,
				BidSz: n, Open24h: n, High24h: n, Low24h: n, VolCcy24h: n, Vol24h: n, SodUtc0: n, SodUtc8: n}}},
		{"trades two elements", `{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"instId":"BTC-USDT","tradeId":"130639474","px":"42219.9","sz":"0.12060306","side":"buy","ts":"1630048897897","count":"3","source":"1","seqId":1234},{"instId":"BTC-USDT","tradeId":"-5","px":"1","sz":"2","side":"sell","ts":"1"}]}`,
			[]schema.Stored{
				&schema.Trade{Header: hdr("trades", "BTC-USDT", 1630048897897), TradeID: 130639474, Px: 42219.9, Sz: 0.12060306,
					Side: "buy", Count: 3, Source: 1, SeqID: 1234},
				&schema.Trade{Header: hdr("trades", "BTC-USDT", 1), TradeID: -5, Px: 1, Sz: 2, Side: "sell", Count: 1}}},
		{"trades-all", `{"arg":{"channel":"trades-all","instId":"BTC-USDT"},"data":[{"instId":"BTC-USDT","tradeId":"130639474","px":"42219.9","sz":"0.12060306","side":"buy","source":"0","ts":"1630048897897"}]}`,
			[]schema.Stored{&schema.Trade{Header: hdr("trades-all", "BTC-USDT", 1630048897897), TradeID: 130639474, Px: 42219.9,
				Sz: 0.12060306, Side: "buy", Count: 1}}},
		{"candle 9", `{"arg":{"channel":"candle1D","instId":"BTC-USDT"},"data":[["1597026383085","8533.02","8553.74","8527.17","8548.26","45247","529.5858061","5529.5858061","0"]]}`,
			[]schema.Stored{&schema.Candle{Header: hdr("candle1D", "BTC-USDT", 1597026383085), Open: 8533.02, High: 8553.74,
				Low: 8527.17, Close: 8548.26, Vol: 45247, VolCcy: 529.5858061, VolCcyQuote: 5529.5858061}}},
		{"candle old 7", `{"arg":{"channel":"candle1m","instId":"BTC-USDT"},"data":[["1","2","3","4","5","6","7"],["8","1","1","1","1","","","","1"]]}`,
			[]schema.Stored{
				&schema.Candle{Header: hdr("candle1m", "BTC-USDT", 1), Open: 2, High: 3, Low: 4, Close: 5, Vol: 6, VolCcy: 7, VolCcyQuote: n},
				&schema.Candle{Header: hdr("candle1m", "BTC-USDT", 8), Open: 1, High: 1, Low: 1, Close: 1, Vol: n, VolCcy: n,
					VolCcyQuote: n, Confirm: true}}},
		{"mark-price candle", `{"arg":{"channel":"mark-price-candle1m","instId":"BTC-USDT-SWAP"},"data":[["1","2","3","4","5","1"]]}`,
			[]schema.Stored{&schema.Candle{Header: hdr("mark-price-candle1m", "BTC-USDT-SWAP", 1), Open: 2, High: 3, Low: 4, Close: 5,
				Vol: n, VolCcy: n, VolCcyQuote: n, Confirm: true}}},
		{"funding-rate", `{"arg":{"channel":"funding-rate","instId":"BTC-USDT-SWAP"},"data":[{"formulaType":"noRate","fundingRate":"0.0000691810863830","fundingTime":"1703088000000","impactValue":"","instId":"BTC-USDT-SWAP","instType":"SWAP","interestRate":"0.0001","maxFundingRate":"0.00375","method":"current_period","minFundingRate":"-0.00375","nextFundingRate":"","nextFundingTime":"1703116800000","premium":"-0.0001","settFundingRate":"0.0000","settState":"settled","ts":"1703070685309"}]}`,
			[]schema.Stored{&schema.FundingRate{Header: hdr("funding-rate", "BTC-USDT-SWAP", 1703070685309), InstType: "SWAP",
				Method: "current_period", FundingRate: 0.0000691810863830, NextFundingRate: n, FundingTime: 1703088000000,
				NextFundingTime: 1703116800000, MinFundingRate: -0.00375, MaxFundingRate: 0.00375, InterestRate: 0.0001,
				ImpactValue: n, Premium: -0.0001, SettState: "settled", SettFundingRate: 0}}},
		{"mark-price", `{"arg":{"channel":"mark-price","instId":"LTC-USD-190628"},"data":[{"instType":"FUTURES","instId":"LTC-USD-190628","markPx":"0.1","ts":"1597026383085"}]}`,
			[]schema.Stored{&schema.MarkPrice{Header: hdr("mark-price", "LTC-USD-190628", 1597026383085), InstType: "FUTURES", MarkPx: 0.1}}},
		{"index-tickers", `{"arg":{"channel":"index-tickers","instId":"BTC-USDT"},"data":[{"instId":"BTC-USDT","idxPx":"0.1","high24h":"0.5","low24h":"0.1","open24h":"0.2","sodUtc0":"0.3","sodUtc8":"0.4","ts":"1597026383085"}]}`,
			[]schema.Stored{&schema.IndexTicker{Header: hdr("index-tickers", "BTC-USDT", 1597026383085), IdxPx: 0.1, Open24h: 0.2,
				High24h: 0.5, Low24h: 0.1, SodUtc0: 0.3, SodUtc8: 0.4}}},
		{"open-interest", `{"arg":{"channel":"open-interest","instId":"LTC-USD-SWAP"},"data":[{"instId":"LTC-USD-SWAP","instType":"SWAP","oi":"5000","oiCcy":"555.55","oiUsd":"50000","ts":"1597026383085"}]}`,
			[]schema.Stored{&schema.OpenInterest{Header: hdr("open-interest", "LTC-USD-SWAP", 1597026383085), InstType: "SWAP",
				OI: 5000, OICcy: 555.55, OIUsd: 50000}}},
		{"books snapshot", `{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"snapshot","data":[{"asks":[["8476.98","415","0","13"],["8477","7","0","2"]],"bids":[["8476.97","256","0","12"]],"ts":"1597026383085","checksum":-855196043,"prevSeqId":-1,"seqId":123456}]}`,
			[]schema.Stored{&schema.Book{Header: hdr("books", "BTC-USDT", 1597026383085), Action: "snapshot", SeqID: 123456,
				PrevSeqID: -1, Checksum: -855196043, Bids: []schema.Level{{Px: 8476.97, Sz: 256, Orders: 12}},
				Asks: []schema.Level{{Px: 8476.98, Sz: 415, Orders: 13}, {Px: 8477, Sz: 7, Orders: 2}}}}},
		{"books update, 2022 without seqIds", `{"arg":{"channel":"books","instId":"BTC-USD-220527"},"action":"update","data":[{"asks":[["30249.4","0","0","0"]],"bids":[],"ts":"1652459225464","checksum":-914047754}]}`,
			[]schema.Stored{&schema.Book{Header: hdr("books", "BTC-USD-220527", 1652459225464), Action: "update",
				Checksum: -914047754, Asks: []schema.Level{{Px: 30249.4}}}}},
		{"books5", `{"arg":{"channel":"books5","instId":"BCH-USDT-SWAP"},"data":[{"asks":[["111.06","55154","0","2"]],"bids":[["111.05","57745","0","2"]],"instId":"BCH-USDT-SWAP","ts":"1670324386802","seqId":363996337}]}`,
			[]schema.Stored{&schema.Book{Header: hdr("books5", "BCH-USDT-SWAP", 1670324386802), Action: "snapshot", SeqID: 363996337,
				Bids: []schema.Level{{Px: 111.05, Sz: 57745, Orders: 2}}, Asks: []schema.Level{{Px: 111.06, Sz: 55154, Orders: 2}}}}},
		{"bbo-tbt short levels", `{"arg":{"channel":"bbo-tbt","instId":"A"},"data":[{"asks":[["1.5","2"]],"bids":null,"ts":"5","seqId":7}]}`,
			[]schema.Stored{&schema.Book{Header: hdr("bbo-tbt", "A", 5), Action: "snapshot", SeqID: 7,
				Asks: []schema.Level{{Px: 1.5, Sz: 2}}}}},
		{"orders", `{"arg":{"channel":"orders","instType":"SPOT","instId":"BTC-USDT","uid":"1"},"data":[{"accFillSz":"0.001","avgPx":"31527.1","cTime":"1654084334977","clOrdId":"Ham","fee":"-0.02522168","feeCcy":"USDT","fillPx":"31527.1","fillSz":"0.001","fillTime":"1654084353263","instId":"BTC-USDT","instType":"SPOT","lever":"0","ordId":"452197707845865472","ordType":"limit","pnl":"0","posSide":"","px":"","side":"sell","state":"filled","sz":"0.001","tdMode":"cash","tradeId":"242589207","uTime":"1654084353264","attachAlgoOrds":[{"x":"y"}]}]}`,
			[]schema.Stored{&schema.Order{Header: hdr("orders", "BTC-USDT", 1654084353264), InstType: "SPOT", OrdID: "452197707845865472",
				ClOrdID: "Ham", Px: n, Sz: 0.001, OrdType: "limit", Side: "sell", TdMode: "cash", State: "filled", AccFillSz: 0.001,
				AvgPx: 31527.1, FillPx: 31527.1, FillSz: 0.001, FillTime: 1654084353263, TradeID: "242589207", Fee: -0.02522168,
				FeeCcy: "USDT", Pnl: 0, Lever: 0, CTime: 1654084334977, UTime: 1654084353264}}},
		{"fills", `{"arg":{"channel":"fills","instId":"BTC-USDT-SWAP"},"data":[{"instId":"BTC-USDT-SWAP","fillSz":"100","fillPx":"70000","side":"buy","ts":"1705449605015","ordId":"680800019749904384","clOrdId":"1234567890","tradeId":"12345","execType":"T","count":"10"}]}`,
			[]schema.Stored{&schema.Fill{Header: hdr("fills", "BTC-USDT-SWAP", 1705449605015), OrdID: "680800019749904384",
				ClOrdID: "1234567890", TradeID: "12345", FillPx: 70000, FillSz: 100, Side: "buy", ExecType: "T", Count: 10}}},
		{"account", `{"arg":{"channel":"account","uid":"1"},"eventType":"event_update","data":[{"details":[{"ccy":"USDT","eq":"1","cashBal":"2","availBal":"3","frozenBal":"4","upl":"5","eqUsd":"6","uTime":"9"},{"ccy":"BTC","uTime":"8"}],"totalEq":"100.5","uTime":"10"}]}`,
			[]schema.Stored{
				&schema.Balance{Header: hdr("account", "USDT", 10), Eq: 1, CashBal: 2, AvailBal: 3, FrozenBal: 4, Upl: 5, EqUsd: 6,
					TotalEq: 100.5, EventType: "event_update"},
				&schema.Balance{Header: hdr("account", "BTC", 10), Eq: n, CashBal: n, AvailBal: n, FrozenBal: n, Upl: n, EqUsd: n,
					TotalEq: 100.5, EventType: "event_update"}}},
		{"positions", `{"arg":{"channel":"positions","instType":"ANY"},"eventType":"snapshot","data":[{"instId":"BTC-USDT-SWAP","instType":"SWAP","mgnMode":"cross","posId":"307173036051017730","posSide":"long","pos":"1","ccy":"USDT","lever":"10","liqPx":"","markPx":"70000","margin":"","avgPx":"69000","upl":"10","cTime":"1","uTime":"2"}]}`,
			[]schema.Stored{&schema.Position{Header: hdr("positions", "BTC-USDT-SWAP", 2), InstType: "SWAP", PosID: "307173036051017730",
				PosSide: "long", MgnMode: "cross", Pos: 1, AvgPx: 69000, Upl: 10, Lever: 10, LiqPx: n, MarkPx: 70000, Margin: n,
				Ccy: "USDT", CTime: 1, UTime: 2, EventType: "snapshot"}}},
		{"balance_and_position", `{"arg":{"channel":"balance_and_position","uid":"1"},"data":[{"balData":[{"ccy":"BTC","cashBal":"1.5","uTime":"3"}],"eventType":"filled","pTime":"5","posData":[{"posId":"9","tradeId":"1","instId":"BTC-USD-SWAP","instType":"SWAP","mgnMode":"cross","posSide":"net","pos":"-2","ccy":"BTC","posCcy":"","avgPx":"3","uTime":"4"}],"trades":[{"instId":"BTC-USD-SWAP","tradeId":"1"}]}]}`,
			[]schema.Stored{
				&schema.Balance{Header: hdr("balance_and_position", "BTC", 5), Eq: n, CashBal: 1.5, AvailBal: n, FrozenBal: n, Upl: n,
					EqUsd: n, TotalEq: n, EventType: "filled"},
				&schema.Position{Header: hdr("balance_and_position", "BTC-USD-SWAP", 5), InstType: "SWAP", PosID: "9", PosSide: "net",
					MgnMode: "cross", Pos: -2, AvgPx: 3, Upl: n, Lever: n, LiqPx: n, MarkPx: n, Margin: n, Ccy: "BTC", UTime: 4,
					EventType: "filled"}}},
		{"empty data", `{"arg":{"channel":"trades","instId":"A"},"data":[]}`, nil},
	}
	dec := NewDecoder()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, _, err := decodeAll(t, dec, []byte(tc.frame))
			if err != nil {
				t.Fatal(err)
			}
			sameEvents(t, got, tc.want)
		})
	}
}

func TestPushMalformed(t *testing.T) {
	tests := []struct{ frame, want string }{
		{`{"arg":{"channel":"tickers"},"data":[{"last":"abc"}]}`, `field "last"`},
		{`{"arg":{"channel":"tickers"},"data":[{"last":"1"},{"last":{}}]}`, `field "last"`},
		{`{"arg":{"channel":"tickers"},"data":[1]}`, "expected object"},
		{`{"arg":{"channel":"trades"},"data":[{"tradeId":"12x"}]}`, "bad integer"},
		{`{"arg":{"channel":"trades"},"data":[{"tradeId":"99999999999999999999"}]}`, "bad integer"},
		{`{"arg":{"channel":"trades"},"data":[{"px":"1"}{"px":"2"}]}`, "expected ','"},
		{`{"arg":{"channel":"books"},"data":[{"asks":[["1"]]}]}`, "fewer than 2"},
		{`{"arg":{"channel":"books"},"data":[{"asks":[["1","2"],]}]}`, "expected array"},
		{`{"arg":{"channel":"books"},"data":[{"asks":"x"}]}`, "expected array"},
		{`{"arg":{"channel":"books"},"data":[{"asks":[["1","2","0","x"]]}]}`, "bad integer"},
		{`{"arg":{"channel":"candle1m"},"data":[["1","2","3","4"]]}`, "fewer than 5"},
		{`{"arg":{"channel":"candle1m"},"data":[["1","2","3","4","5","6","7","8","maybe"]]}`, "bad boolean"},
		{`{"arg":{"channel":"account"},"data":[{"details":[{"eq":"x"}]}]}`, `field "eq"`},
		{`{"arg":{"channel":"balance_and_position"},"data":[{"posData":[{"pos":"-"}]}]}`, `field "pos"`},
		{`{"arg":{"channel":"tickers"},"data":[{"last":"1\u0030"}]}`, "escaped number"},
	}
	for _, tc := range tests {
		dec := NewDecoder()
		_, _, err := decodeAll(t, dec, []byte(tc.frame))
		if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want ErrMalformed with %q", tc.frame, err, tc.want)
		}
		if dec.Stats().Malformed != 1 {
			t.Errorf("%s: stats %+v", tc.frame, dec.Stats())
		}
	}
	// Events decoded before the bad element are emitted and counted.
	dec := NewDecoder()
	evs, _, err := decodeAll(t, dec, []byte(`{"arg":{"channel":"trades"},"data":[{"px":"1","ts":"1"},{"px":"x"}]}`))
	if len(evs) != 1 || err == nil {
		t.Fatalf("got %d events, err %v", len(evs), err)
	}
}

func TestPushUnknownChannelAndBadEnvelope(t *testing.T) {
	dec := NewDecoder()
	_, _, err := decodeAll(t, dec, []byte(`{"arg":{"channel":"adl-warning","instId":"A"},"data":[{}]}`))
	if !errors.Is(err, ErrUnknownChannel) || !strings.Contains(err.Error(), "adl-warning") {
		t.Fatalf("got %v", err)
	}
	if dec.Stats().UnknownChannel != 1 {
		t.Fatalf("stats %+v", dec.Stats())
	}
	if _, err := dec.Push(&Envelope{Kind: FrameEvent}, []byte(`{}`), 0, func(schema.Event) {}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("event envelope: %v", err)
	}
	// A hand-made envelope (no data range) still works: Push finds "data" itself.
	env := Envelope{Kind: FramePush, Arg: Arg{Channel: "trades", InstID: "A"}}
	cnt := 0
	if _, err := dec.Push(&env, []byte(`{"arg":{},"data":[{"px":"1","ts":"1"}]}`), 0, func(schema.Event) { cnt++ }); err != nil || cnt != 1 {
		t.Fatalf("hand-made envelope: %v, %d", err, cnt)
	}
	// An envelope from another frame never panics.
	var big Envelope
	if err := dec.Envelope([]byte(`{"arg":{"channel":"trades"},"data":[{"px":"1"},{"px":"2"},{"px":"3"}]}`), &big); err != nil {
		t.Fatal(err)
	}
	_, _ = dec.Push(&big, []byte(`{"data":[]}`), 0, func(schema.Event) {})
}

func TestPushDoesNotAllocate(t *testing.T) {
	frames := map[string]string{
		"tickers": tickerFrame,
		"trades":  tradesFrame,
		"books":   string(bookSnapshotFrame(400)),
		"candle":  `{"arg":{"channel":"candle1m","instId":"BTC-USDT"},"data":[["1597026383085","8533.02","8553.74","8527.17","8548.26","45247","529.5858061","5529.5858061","0"]]}`,
	}
	for name, f := range frames {
		checkNoAllocs(t, name, f)
	}
}

// checkNoAllocs fails the test unless decoding frame (envelope and push, after a first run warms the intern
// table and the level slices) allocates nothing and emits events.
func checkNoAllocs(t *testing.T, name, frame string) {
	t.Helper()
	dec := NewDecoder()
	b := []byte(frame)
	var env Envelope
	emitted := 0
	emit := func(schema.Event) { emitted++ }
	run := func() {
		if err := dec.Envelope(b, &env); err != nil {
			t.Fatal(err)
		}
		if _, err := dec.Push(&env, b, 1, emit); err != nil {
			t.Fatal(err)
		}
	}
	run()
	if a := testing.AllocsPerRun(50, run); a != 0 {
		t.Errorf("%s: %v allocs per frame", name, a)
	}
	if emitted == 0 {
		t.Errorf("%s: nothing emitted", name)
	}
}

func TestInternTableBounded(t *testing.T) {
	var in interner
	in.m = map[string]string{}
	for i := 0; i < maxInterned+10; i++ {
		in.str([]byte(fmt.Sprint(i)))
	}
	if len(in.m) != maxInterned {
		t.Fatalf("intern table has %d entries", len(in.m))
	}
	if in.str([]byte("zzz")) != "zzz" {
		t.Fatal("overflow string wrong")
	}
}

func TestFastFloatMatchesStrconv(t *testing.T) {
	cases := []string{"0", "-0", "1", "1.", ".5", "0.1", "9999.99", "0.00011186", "42219.9", "-0.02522168",
		"9007199254740991", "9007199254740992", "0.0000000000000000000001", "0.00000000000000000000001",
		"1234567890123456789", "12345678901234567890", "100000000.0000000000000000", "1e5", "+1", "-", ".", "1..2",
		"0x10", "inf", "NaN", "1_0", "3.14159265358979323846"}
	for i := 0; i < 20000; i++ {
		cases = append(cases, strconv.FormatFloat(float64(i)*0.0001+float64(i%7)*1e3, 'f', -1, 64),
			strconv.FormatFloat(-float64(i)/3, 'f', i%20, 64))
	}
	for _, c := range cases {
		got, ok := fastFloat([]byte(c))
		want, err := strconv.ParseFloat(c, 64)
		if ok && (err != nil || math.Float64bits(got) != math.Float64bits(want)) {
			t.Fatalf("%q: fast %v, strconv %v %v", c, got, want, err)
		}
	}
}

func TestZeroDecoderUsable(t *testing.T) {
	var dec Decoder
	if _, _, err := decodeAll(t, &dec, []byte(tradesFrame)); err != nil {
		t.Fatal(err)
	}
}
