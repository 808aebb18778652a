package decode

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/okxtape/okxtape/schema"
)

// Frames of the channels added with the channel registry. Only instruments has a real frame in the shared
// fixtures (ws_instruments.json); liquidationFrame is copied verbatim from okx-v5-websocket.md §5.12. The doc
// gives only field lists for price-limit (§5.10), estimated-price (§5.11) and status (§5.14), and the levels
// and "no checksum" of books-rpi (§5.4): those frames are built from exactly those fields, in the push shape
// of §2.3. opt-summary has no field list in the doc; its frame follows OKX's published option-summary fields.
const (
	liquidationFrame = `{"arg":{"channel":"liquidation-orders","instType":"SWAP"},
 "data":[{"details":[{"bkLoss":"0","bkPx":"0.007831","ccy":"","posSide":"short","side":"buy","sz":"13","ts":"1692266434010"}],
          "instFamily":"IOST-USDT","instId":"IOST-USDT-SWAP","instType":"SWAP","uly":"IOST-USDT"}]}`
	priceLimitFrame = `{"arg":{"channel":"price-limit","instId":"LTC-USD-190628"},"data":[{"instType":"FUTURES","instId":"LTC-USD-190628","buyLmt":"200","sellLmt":"300","ts":"1597026383085","enabled":true}]}`
	priceLimitOff   = `{"arg":{"channel":"price-limit","instId":"BTC-USDT"},"data":[{"instType":"SPOT","instId":"BTC-USDT","buyLmt":"","sellLmt":"","ts":"1597026383085","enabled":false}]}`
	estimatedFrame  = `{"arg":{"channel":"estimated-price","instType":"FUTURES","instFamily":"BTC-USD"},"data":[{"instId":"BTC-USD-170310","instType":"FUTURES","settleType":"delivery","settlePx":"200","ts":"1597026383085"}]}`
	statusFrame     = `{"arg":{"channel":"status"},"data":[{"title":"Spot System Upgrade","state":"scheduled","begin":"1610019546","end":"1610019546","preOpenBegin":"","href":"","serviceType":"1","system":"classic","scheDesc":"","ts":"1597026383085"}]}`
	optSummaryFrame = `{"arg":{"channel":"opt-summary","instFamily":"BTC-USD"},"data":[{"instType":"OPTION","instId":"BTC-USD-241013-70000-P","uly":"BTC-USD","delta":"0.1","gamma":"0.2","vega":"0.3","theta":"0.4","deltaBS":"0.5","gammaBS":"0.6","vegaBS":"0.7","thetaBS":"0.8","lever":"9","markVol":"0.91","bidVol":"0.92","askVol":"0.93","realVol":"0.94","volLv":"0.95","fwdPx":"62000.5","ts":"1597026383085"}]}`
	booksRPIFrame   = `{"arg":{"channel":"books-rpi","instId":"BTC-USDT"},"action":"snapshot","data":[{"asks":[["8476.98","415","400","13"],["8477","7","7","2"]],"bids":[["8476.97","256","200","12"],["8475.55","101","101","1"]],"ts":"1597026383085","prevSeqId":-1,"seqId":123456}]}`
)

// decodeOne decodes a frame that must yield exactly one event of type T.
func decodeOne[T schema.Event](t *testing.T, frame string) T {
	t.Helper()
	evs, _, err := decodeAll(t, NewDecoder(), []byte(frame))
	if err != nil || len(evs) != 1 {
		t.Fatalf("%.60s: %d events, %v", frame, len(evs), err)
	}
	e, ok := evs[0].(T)
	if !ok {
		t.Fatalf("%.60s: got %T", frame, evs[0])
	}
	return e
}

func TestInstrumentsFixture(t *testing.T) {
	frame := fixtureFrames(t, "ws_instruments.json")[0]
	evs, _, err := decodeAll(t, NewDecoder(), frame)
	if err != nil || len(evs) != 1 {
		t.Fatalf("%d events, %v", len(evs), err)
	}
	in := evs[0].(*schema.Instrument)
	if in.InstID != "BTC-USDT-SWAP" || in.InstType != "SWAP" || in.InstFamily != "BTC-USDT" || in.Uly != "BTC-USDT" ||
		in.CtType != "linear" || in.CtValCcy != "BTC" || in.SettleCcy != "USDT" || in.State != "live" ||
		in.RuleType != "normal" || in.CtVal != 0.01 || in.CtMult != 1 || in.TickSz != 0.1 || in.LotSz != 1 ||
		in.MinSz != 1 || in.Lever != 125 || in.ListTime != 1611916828000 || in.ExpTime != 0 || in.BaseCcy != "" {
		t.Errorf("instrument %+v", in)
	}
	if in.Ts != 0 { // decodeAll passes recvNs 42: the channel has no exchange time, Ts is the receive ms
		t.Errorf("ts %d, want the receive time in ms (0)", in.Ts)
	}
	var env Envelope
	if err := ParseEnvelope(frame, &env); err != nil {
		t.Fatal(err)
	}
	n, err := NewDecoder().Push(&env, frame, 1_700_000_000_123_456_789, func(e schema.Event) {
		if e.Hdr().Ts != 1_700_000_000_123 {
			t.Errorf("ts %d", e.Hdr().Ts)
		}
	})
	if n != 1 || err != nil {
		t.Fatal(n, err)
	}
}

func TestLiquidationOrdersDocFrame(t *testing.T) {
	l := decodeOne[*schema.Liquidation](t, liquidationFrame)
	if l.InstID != "IOST-USDT-SWAP" || l.InstType != "SWAP" || l.InstFamily != "IOST-USDT" || l.Uly != "IOST-USDT" ||
		l.Side != schema.SideBuy || l.PosSide != "short" || l.BkPx != 0.007831 || l.Sz != 13 || l.BkLoss != 0 ||
		l.Ccy != "" || l.Ts != 1692266434010 || l.Channel != "liquidation-orders" {
		t.Errorf("liquidation %+v", l)
	}
	// Several details in one element, in any order: each is an event with the element's instrument.
	two := `{"arg":{"channel":"liquidation-orders","instType":"MARGIN"},"data":[{"details":[` +
		`{"side":"sell","posSide":"net","bkPx":"2","sz":"1.5","bkLoss":"0.1","ccy":"USDT","ts":"20"},` +
		`{"side":"buy","posSide":"net","bkPx":"3","sz":"2","bkLoss":"0","ccy":"BTC","ts":"10"}],"instId":"BTC-USDT","instType":"MARGIN"}]}`
	evs, _, err := decodeAll(t, NewDecoder(), []byte(two))
	if err != nil || len(evs) != 2 {
		t.Fatalf("%d events, %v", len(evs), err)
	}
	a, b := evs[0].(*schema.Liquidation), evs[1].(*schema.Liquidation)
	if a.InstID != "BTC-USDT" || b.InstID != "BTC-USDT" || a.Ts != 20 || b.Ts != 10 || a.Ccy != "USDT" ||
		b.Ccy != "BTC" || a.Sz != 1.5 || b.BkPx != 3 || a.InstType != "MARGIN" {
		t.Errorf("got %+v %+v", a, b)
	}
	if _, _, err := decodeAll(t, NewDecoder(), []byte(`{"arg":{"channel":"liquidation-orders","instType":"SWAP"},"data":[{"instId":"X"}]}`)); !errors.Is(err, ErrMalformed) {
		t.Errorf("element without details: %v", err)
	}
}

func TestPriceLimitFrames(t *testing.T) {
	p := decodeOne[*schema.PriceLimit](t, priceLimitFrame)
	if p.InstID != "LTC-USD-190628" || p.InstType != "FUTURES" || p.BuyLmt != 200 || p.SellLmt != 300 ||
		!p.Enabled || p.Ts != 1597026383085 {
		t.Errorf("price limit %+v", p)
	}
	off := decodeOne[*schema.PriceLimit](t, priceLimitOff)
	if off.Enabled || !math.IsNaN(off.BuyLmt) || !math.IsNaN(off.SellLmt) || off.InstType != "SPOT" {
		t.Errorf("disabled price limit %+v", off)
	}
}

func TestEstimatedPriceFrame(t *testing.T) {
	e := decodeOne[*schema.EstimatedPrice](t, estimatedFrame)
	if e.InstID != "BTC-USD-170310" || e.InstType != "FUTURES" || e.SettleType != "delivery" || e.SettlePx != 200 ||
		e.Ts != 1597026383085 {
		t.Errorf("estimated price %+v", e)
	}
}

func TestStatusFrame(t *testing.T) {
	s := decodeOne[*schema.Status](t, statusFrame)
	if s.Title != "Spot System Upgrade" || s.State != "scheduled" || s.BeginTime != 1610019546 ||
		s.EndTime != 1610019546 || s.PreOpenBegin != 0 || s.ServiceType != "1" || s.System != "classic" ||
		s.InstID != "" || s.Ts != 1597026383085 {
		t.Errorf("status %+v", s)
	}
}

func TestOptSummaryFrame(t *testing.T) {
	o := decodeOne[*schema.OptSummary](t, optSummaryFrame)
	if o.InstID != "BTC-USD-241013-70000-P" || o.InstType != "OPTION" || o.Uly != "BTC-USD" || o.Delta != 0.1 ||
		o.Gamma != 0.2 || o.Vega != 0.3 || o.Theta != 0.4 || o.DeltaBS != 0.5 || o.GammaBS != 0.6 ||
		o.VegaBS != 0.7 || o.ThetaBS != 0.8 || o.Lever != 9 || o.MarkVol != 0.91 || o.BidVol != 0.92 ||
		o.AskVol != 0.93 || o.RealVol != 0.94 || o.VolLv != 0.95 || o.FwdPx != 62000.5 || o.Ts != 1597026383085 {
		t.Errorf("opt summary %+v", o)
	}
}

func TestBooksRPIFrame(t *testing.T) {
	for _, ch := range []string{"books-rpi", "books-elp"} {
		b := decodeOne[*schema.Book](t, strings.Replace(booksRPIFrame, "books-rpi", ch, 1))
		// Levels are [px, totalQty, nonRpiQty, count]: the book's size is the total, the order count the 4th.
		if b.Channel != ch || b.Action != schema.ActionSnapshot || b.SeqID != 123456 || b.PrevSeqID != -1 ||
			b.Checksum != 0 || len(b.Asks) != 2 || len(b.Bids) != 2 || b.Asks[0].Px != 8476.98 ||
			b.Asks[0].Sz != 415 || b.Asks[0].Orders != 13 || b.Bids[1].Sz != 101 || b.Bids[1].Orders != 1 {
			t.Errorf("%s: %+v", ch, b)
		}
	}
}

// TestVenueBadValues: the venue decoders follow the market decoders' rule. A number that is not a finite
// decimal, or an event without ts, drops only that element, counted per kind; the rest of the push is
// emitted. Text strconv cannot read at all ("abc", "1.2.3") stays malformed, as in every decoder.
func TestVenueBadValues(t *testing.T) {
	frames := []struct{ channel, arg, good, bad string }{
		{"price-limit", `"instId":"A"`, `{"instId":"A","buyLmt":"1","ts":"5"}`, `{"instId":"A","buyLmt":%s,"ts":"5"}`},
		{"estimated-price", `"instType":"SWAP"`, `{"instId":"A","settlePx":"1","ts":"5"}`, `{"instId":"A","settlePx":%s,"ts":"5"}`},
		{"opt-summary", `"instFamily":"BTC-USD"`, `{"instId":"A","fwdPx":"1","ts":"5"}`, `{"instId":"A","fwdPx":%s,"ts":"5"}`},
		{"liquidation-orders", `"instType":"SWAP"`, `{"details":[{"bkPx":"1","ts":"5"}],"instId":"A"}`, `{"details":[{"bkPx":%s,"ts":"5"}],"instId":"A"}`},
		{"instruments", `"instType":"SWAP"`, `{"instId":"A","tickSz":"1"}`, `{"instId":"A","tickSz":%s}`},
	}
	push := func(channel, arg string, data ...string) []byte {
		return []byte(`{"arg":{"channel":"` + channel + `",` + arg + `},"data":[` + strings.Join(data, ",") + `]}`)
	}
	check := func(t *testing.T, frame []byte, kind string) {
		t.Helper()
		dec := NewDecoder()
		evs, _, err := decodeAll(t, dec, frame)
		var ve *ValueError
		if !errors.As(err, &ve) || errors.Is(err, ErrMalformed) || len(ve.Counts) != 1 || ve.Counts[kind] != 1 {
			t.Fatalf("%s: err %v, want one %s", frame, err, kind)
		}
		if len(evs) != 2 {
			t.Fatalf("%s: %d events, want the 2 good ones", frame, len(evs))
		}
		if st := dec.Stats(); st.BadValue != 1 || st.Malformed != 0 {
			t.Fatalf("%s: stats %+v", frame, st)
		}
	}
	for _, f := range frames {
		for _, bad := range []string{`"NaN"`, `"Inf"`, `"-Infinity"`, `"0x1p3"`, `"1e999"`, `"+1"`, `"1_0"`, `Infinity`} {
			check(t, push(f.channel, f.arg, f.good, strings.Replace(f.bad, "%s", bad, 1), f.good), KindBadNumber)
		}
		for _, bad := range []string{`"abc"`, `"1.2.3"`} {
			dec := NewDecoder()
			_, _, err := decodeAll(t, dec, push(f.channel, f.arg, strings.Replace(f.bad, "%s", bad, 1)))
			if !errors.Is(err, ErrMalformed) || dec.Stats().Malformed != 1 {
				t.Errorf("%s %s: %v, want malformed", f.channel, bad, err)
			}
		}
	}
	// no_ts: every venue channel but instruments, which has no exchange time.
	for _, f := range frames[:4] {
		check(t, push(f.channel, f.arg, f.good, strings.Replace(strings.Replace(f.bad, "%s", `"2"`, 1), `"ts":"5"`, `"ts":"0"`, 1), f.good), KindNoTs)
	}
	check(t, push("status", `"x":"y"`, `{"title":"A","ts":"5"}`, `{"title":"B"}`, `{"title":"C","ts":"5"}`), KindNoTs)
	// Exponents and bare numbers are finite decimals.
	p := decodeOne[*schema.PriceLimit](t, `{"arg":{"channel":"price-limit","instId":"A"},"data":[{"buyLmt":"1.5e2","sellLmt":7,"ts":"1"}]}`)
	if p.BuyLmt != 150 || p.SellLmt != 7 {
		t.Errorf("%+v", p)
	}
}

func TestVenuePushDoesNotAllocate(t *testing.T) {
	for _, f := range []string{liquidationFrame, priceLimitFrame, estimatedFrame, statusFrame, optSummaryFrame,
		booksRPIFrame, `{"arg":{"channel":"instruments","instType":"SWAP"},"data":[{"instId":"BTC-USDT-SWAP","instType":"SWAP","tickSz":"0.1","state":"live","listTime":"1"}]}`} {
		checkNoAllocs(t, f[:min(50, len(f))], f)
	}
}

// fuzzChannel forces one channel's decoder over arbitrary push data: it never panics, emits exactly n events
// with the channel and receive time in their headers, an exchange ts (instruments excepted) and no infinite
// number, and fails only with ErrMalformed or ErrBadValue (an element dropped).
func fuzzChannel(f *testing.F, channel string, seeds ...string) {
	addSeeds(f)
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	dec := NewDecoder()
	f.Fuzz(func(t *testing.T, frame []byte) {
		var env Envelope
		if dec.Envelope(frame, &env) != nil || env.Kind != FramePush {
			return
		}
		env.Arg.Channel = channel
		emitted := 0
		n, err := dec.Push(&env, frame, 7, func(ev schema.Event) {
			emitted++
			if h := ev.Hdr(); h.Channel != channel || h.RecvNs != 7 {
				t.Fatalf("bad header %+v", *h)
			}
			if h := ev.Hdr(); h.Ts <= 0 && ev.Kind() != schema.KindInstrument {
				t.Fatalf("emitted without ts: %+v", ev)
			}
			if f := infiniteField(ev); f != "" {
				t.Fatalf("emitted %s infinite: %+v", f, ev)
			}
			_ = schema.Clone(ev.(schema.Stored)) // every emitted event is a complete row
		})
		if n != emitted {
			t.Fatalf("n=%d, emitted %d", n, emitted)
		}
		if err != nil && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrBadValue) {
			t.Fatalf("unexpected error: %v", err)
		}
	})
}

// infiniteField names the first float64 field of ev's struct that is ±Inf, or "".
func infiniteField(ev schema.Event) string {
	v := reflect.ValueOf(ev).Elem()
	for i := 0; i < v.NumField(); i++ {
		if f := v.Field(i); f.Kind() == reflect.Float64 && math.IsInf(f.Float(), 0) {
			return v.Type().Field(i).Name
		}
	}
	return ""
}

func FuzzLiquidationOrders(f *testing.F) { fuzzChannel(f, "liquidation-orders", liquidationFrame) }
func FuzzPriceLimit(f *testing.F)        { fuzzChannel(f, "price-limit", priceLimitFrame, priceLimitOff) }
func FuzzInstruments(f *testing.F)       { fuzzChannel(f, "instruments") }
func FuzzStatus(f *testing.F)            { fuzzChannel(f, "status", statusFrame) }
func FuzzBooksRPI(f *testing.F)          { fuzzChannel(f, "books-rpi", booksRPIFrame) }
func FuzzOptSummary(f *testing.F)        { fuzzChannel(f, "opt-summary", optSummaryFrame) }
func FuzzEstimatedPrice(f *testing.F)    { fuzzChannel(f, "estimated-price", estimatedFrame) }
