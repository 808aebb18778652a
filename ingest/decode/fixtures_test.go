package decode

import (
	"bytes"
	"errors"
	"hash/crc32"
	"math"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/okxtape/okxtape/schema"
)

// captureFrames returns the incoming frames of the cryptofeed OKX.ws.1.0 capture ("<secs>: <frame>" lines;
// outgoing lines and the connection line start with the URL) and the number of outgoing lines.
func captureFrames(t testing.TB) (frames [][]byte, outgoing int) {
	t.Helper()
	for _, line := range bytes.Split(readFixture(t, "OKX.ws.1.0"), []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if bytes.HasPrefix(line, []byte("wss://")) {
			if bytes.Contains(line, []byte(" <- ")) {
				outgoing++
			}
			continue
		}
		i := bytes.Index(line, []byte(": "))
		if i < 0 {
			t.Fatalf("bad capture line %.60q", line)
		}
		if _, err := strconv.ParseFloat(string(line[:i]), 64); err != nil {
			t.Fatalf("bad capture timestamp %.60q", line)
		}
		frames = append(frames, line[i+2:])
	}
	return frames, outgoing
}

// refBook is an independent order book over the received strings, for checksum verification.
type refBook struct{ bids, asks map[string]string }

func (b *refBook) apply(side map[string]string, raw []string) {
	for _, pxsz := range raw {
		px, sz, _ := strings.Cut(pxsz, ":")
		if v, _ := strconv.ParseFloat(sz, 64); v == 0 {
			delete(side, px)
		} else {
			side[px] = sz
		}
	}
}

func topN(side map[string]string, desc bool, n int) []string {
	pxs := make([]string, 0, len(side))
	for p := range side {
		pxs = append(pxs, p)
	}
	sort.Slice(pxs, func(i, j int) bool {
		a, _ := strconv.ParseFloat(pxs[i], 64)
		b, _ := strconv.ParseFloat(pxs[j], 64)
		return a > b == desc
	})
	if len(pxs) > n {
		pxs = pxs[:n]
	}
	return pxs
}

func (b *refBook) checksum() int64 {
	bids, asks := topN(b.bids, true, 25), topN(b.asks, false, 25)
	var parts []string
	for i := 0; i < 25; i++ {
		if i < len(bids) {
			parts = append(parts, bids[i], b.bids[bids[i]])
		}
		if i < len(asks) {
			parts = append(parts, asks[i], b.asks[asks[i]])
		}
	}
	return int64(int32(crc32.ChecksumIEEE([]byte(strings.Join(parts, ":")))))
}

func TestCapture(t *testing.T) {
	frames, outgoing := captureFrames(t)
	if outgoing != 3 {
		t.Errorf("outgoing lines: %d, want 3", outgoing)
	}
	dec := NewDecoder()
	msgs := map[string]int{}
	acks, snapshots, checked := 0, 0, 0
	books := map[string]*refBook{}
	for i, frame := range frames {
		var env Envelope
		if err := dec.Envelope(frame, &env); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if env.Kind == FrameEvent {
			if env.Event != "subscribe" || env.Arg.Channel == "" || env.Arg.InstID == "" {
				t.Fatalf("frame %d: unexpected event %+v", i, env)
			}
			acks++
			continue
		}
		ch := env.Arg.Channel
		msgs[ch]++
		got, raws, err := decodeAll(t, dec, frame)
		if err != nil {
			t.Fatalf("frame %d (%s): %v", i, ch, err)
		}
		// Reference decode with encoding/json.
		var want []schema.Stored
		ref := map[string]func([]byte, int64, func(schema.Event)) error{
			"tickers": baselineTickers, "trades": baselineTrades, "books": baselineBooks}[ch]
		if ref == nil {
			t.Fatalf("frame %d: unexpected channel %q", i, ch)
		}
		if err := ref(frame, 42, func(e schema.Event) { want = append(want, schema.Clone(e.(schema.Stored))) }); err != nil {
			t.Fatalf("frame %d: reference: %v", i, err)
		}
		sameEvents(t, got, want)
		for k, e := range got {
			h := e.Hdr()
			if h.InstID != env.Arg.InstID || h.Ts < 1652400000000 || h.Ts > 1652500000000 {
				t.Fatalf("frame %d: bad header %+v", i, *h)
			}
			b, ok := e.(*schema.Book)
			if !ok {
				continue
			}
			rb := books[h.InstID]
			if b.Action == schema.ActionSnapshot {
				snapshots++
				rb = &refBook{bids: map[string]string{}, asks: map[string]string{}}
				books[h.InstID] = rb
			}
			if rb == nil {
				t.Fatalf("frame %d: update before snapshot", i)
			}
			rb.apply(rb.bids, raws[k][0])
			rb.apply(rb.asks, raws[k][1])
			if b.Checksum == 0 || rb.checksum() != b.Checksum {
				t.Fatalf("frame %d: checksum %d, computed from BookRaw %d", i, b.Checksum, rb.checksum())
			}
			checked++
		}
	}
	if acks != 18 || msgs["books"] != 290 || msgs["trades"] != 74 || msgs["tickers"] != 28 || snapshots != 3 {
		t.Fatalf("acks %d, messages %v, snapshots %d", acks, msgs, snapshots)
	}
	if checked != 290 {
		t.Fatalf("checksums verified: %d", checked)
	}
	if st := dec.Stats(); st != (Stats{}) {
		t.Fatalf("stats %+v", st)
	}
}

// TestFixtures decodes every shared fixture file and spot-checks values.
func TestFixtures(t *testing.T) {
	push := func(name string) ([]schema.Event, [][2][]string) {
		t.Helper()
		var all []schema.Event
		var raws [][2][]string
		dec := NewDecoder()
		for _, f := range fixtureFrames(t, name) {
			evs, r, err := decodeAll(t, dec, f)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			all, raws = append(all, evs...), append(raws, r...)
		}
		return all, raws
	}
	first := func(name string) schema.Event {
		t.Helper()
		evs, _ := push(name)
		if len(evs) == 0 {
			t.Fatalf("%s: no events", name)
		}
		return evs[0]
	}
	ticker := first("ws_tickers.json").(*schema.Ticker)
	if ticker.InstID != "BTC-USDT" || ticker.InstType != "SPOT" || ticker.Last != 9999.99 || ticker.BidSz != 5 ||
		ticker.Ts != 1597026383085 || ticker.SodUtc8 != 2222 {
		t.Errorf("ws_tickers: %+v", ticker)
	}
	tr := first("ws_trades.json").(*schema.Trade)
	if tr.TradeID != 130639474 || tr.Count != 3 || tr.Side != schema.SideBuy || tr.Px != 42219.9 || tr.Sz != 0.12060306 {
		t.Errorf("ws_trades: %+v", tr)
	}
	if evs, _ := push("wsAllTrades.json"); len(evs) != 2 || evs[1].(*schema.Trade).TradeID != 674510827 ||
		evs[1].(*schema.Trade).Side != schema.SideSell {
		t.Errorf("wsAllTrades: %s", dump(evs))
	}
	for _, c := range []struct {
		file      string
		action    string
		prev, seq int64
		checksum  int64
		levels    int
	}{
		{"ws_books_snapshot.json", "snapshot", -1, 123456, -855196043, 8},
		{"ws_books_update.json", "update", 123456, 123457, -855196043, 8},
		{"ws_bbo_tbt.json", "snapshot", 0, 123456, 0, 1},
	} {
		evs, raws := push(c.file)
		b := evs[0].(*schema.Book)
		if b.Action != c.action || b.PrevSeqID != c.prev || b.SeqID != c.seq || b.Checksum != c.checksum ||
			len(b.Bids) != c.levels || len(b.Asks) != c.levels || b.Ts != 1597026383085 || b.InstID != "BTC-USDT" {
			t.Errorf("%s: %+v", c.file, b)
		}
		if raws[0][1][0] != "8476.98:415" || raws[0][0][0] != "8476.97:256" || b.Asks[0].Orders != 13 {
			t.Errorf("%s: raw %v", c.file, raws[0])
		}
	}
	c := first("ws_candle.json").(*schema.Candle)
	if c.Channel != "candle1D" || !c.Confirm || c.Ts != 1597026383085 || c.VolCcyQuote != 5529.5858061 || c.Low != 8527.17 {
		t.Errorf("ws_candle: %+v", c)
	}
	f := first("ws_funding_rate.json").(*schema.FundingRate)
	if f.FundingRate != 0.0001 || f.NextFundingRate != 0.0002 || f.NextFundingTime != 1744619149506 ||
		!math.IsNaN(f.MinFundingRate) || f.Method != "" || f.Ts != 1744590349506 {
		t.Errorf("ws_funding_rate: %+v", f)
	}
	o := first("ws_orders.json").(*schema.Order)
	if o.OrdID != "2497956918703120384" || o.ClOrdID != "001BTCUSDT20250106001" || !math.IsNaN(o.Px) || o.Lever != 2 ||
		o.Ts != 1746947317402 || o.TradeID != "1518905529" || o.Fee != -0.021776769 || o.PosSide != "long" {
		t.Errorf("ws_orders: %+v", o)
	}
	if evs, _ := push("wsOrders.json"); len(evs) != 4 || evs[2].(*schema.Order).State != "partially_filled" ||
		evs[2].(*schema.Order).FillSz != 0.00038128 || evs[1].(*schema.Order).FillTime != 0 {
		t.Errorf("wsOrders: %s", dump(evs))
	}
	acct, _ := push("ws_account.json")
	if len(acct) != 3 {
		t.Fatalf("ws_account: %s", dump(acct))
	}
	for i, ccy := range []string{"USDT", "BTC", "ETH"} {
		b := acct[i].(*schema.Balance)
		if b.InstID != ccy || b.TotalEq != 100.56089404807182 || b.Ts != 1751531646836 || b.Channel != "account" {
			t.Errorf("ws_account %d: %+v", i, b)
		}
	}
	if b := acct[0].(*schema.Balance); b.Eq != 100.52768569797846 || b.EqUsd != 100.55985455740182 || b.FrozenBal != 0 {
		t.Errorf("ws_account USDT: %+v", b)
	}
	p := first("ws_positions.json").(*schema.Position)
	if p.PosID != "12345" || p.Pos != 0.5 || p.LiqPx != 9000 || p.Margin != 0.5 || p.MgnMode != "isolated" ||
		p.Ts != 1622559930237 || p.Ccy != "BTC" {
		t.Errorf("ws_positions: %+v", p)
	}
}

func TestREST(t *testing.T) {
	b, raw, err := ParseRESTBooks(readFixture(t, "http_get_order_book.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Asks) != 3 || len(b.Bids) != 3 || b.Ts != 1704067200000 || b.Action != schema.ActionSnapshot ||
		b.PrevSeqID != -1 || b.Asks[2].Px != 41007 || b.Asks[2].Orders != 3 || string(raw.Asks[2].Px) != "41007.0" ||
		string(raw.Bids[0].Sz) != "0.48792100" || len(raw.Bids) != 3 {
		t.Errorf("books: %+v %+v", b, raw)
	}
	spot, err := ParseRESTInstruments(readFixture(t, "http_get_instruments_spot.json"))
	if err != nil || len(spot) != 5 || spot[0].InstID != "BTC-USD" || spot[0].InstType != "SPOT" || spot[0].State != "live" ||
		spot[0].TickSz != 0.1 || !math.IsNaN(spot[0].CtVal) || spot[4].InstID != "USDT-USD" {
		t.Errorf("spot instruments: %v %+v", err, spot)
	}
	swap, err := ParseRESTInstruments(readFixture(t, "http_get_instruments_swap.json"))
	if err != nil || len(swap) != 3 || swap[0].InstID != "BTC-USD-SWAP" || swap[0].CtVal != 100 || swap[0].CtType != "inverse" ||
		swap[0].SettleCcy != "BTC" || swap[0].InstFamily != "BTC-USD" {
		t.Errorf("swap instruments: %v %+v", err, swap)
	}
	trades, err := ParseRESTTrades(readFixture(t, "http_get_trades.json"))
	if err != nil || len(trades) != 2 || trades[0].TradeID != 734864333 || trades[0].Side != "sell" || trades[1].Sz != 0.0000125 {
		t.Errorf("trades: %v %+v", err, trades)
	}

	for _, body := range []string{
		`{"code":"51001","msg":"Instrument ID does not exist","data":[]}`,
		`{"msg":"Instrument ID does not exist","data":[],"code":51001}`,
	} {
		var apiErr *APIError
		_, _, err := ParseRESTBooks([]byte(body))
		if !errors.As(err, &apiErr) || apiErr.Code != "51001" || !strings.Contains(err.Error(), "Instrument ID does not exist") {
			t.Errorf("%s: %v", body, err)
		}
		if _, err := ParseRESTInstruments([]byte(body)); !errors.As(err, &apiErr) {
			t.Errorf("%s: %v", body, err)
		}
	}
	for _, body := range []string{`{"code":"0","msg":"","data":[]}`, `{"code":"0"}`, `{"code":"0","data":[{"asks":[["1"]]}]}`, `[`, ``} {
		if _, _, err := ParseRESTBooks([]byte(body)); !errors.Is(err, ErrMalformed) {
			t.Errorf("books %q: %v", body, err)
		}
	}
	if _, err := ParseRESTInstruments([]byte(`{"code":"0","data":[{"tickSz":"x"}]}`)); !errors.Is(err, ErrMalformed) {
		t.Errorf("instruments: %v", err)
	}
	// A number that is not a finite decimal refuses the response by the value rules (not as malformed), and
	// its problem does not leak into the next entry.
	if _, err := ParseRESTInstruments([]byte(`{"code":"0","data":[{"instId":"A","tickSz":"NaN"},{"instId":"B"}]}`)); !errors.Is(err, ErrBadValue) || errors.Is(err, ErrMalformed) {
		t.Errorf("instruments NaN: %v", err)
	}
	if ins, err := ParseRESTInstruments([]byte(`{"code":"0","data":[{"instId":"A","tickSz":"0.1"},{"instId":"B"}]}`)); err != nil || len(ins) != 2 {
		t.Errorf("instruments: %d, %v", len(ins), err)
	}
}
