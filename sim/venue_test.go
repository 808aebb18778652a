package sim

import (
	"encoding/json"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// keysOf returns the sorted keys of a JSON object.
func keysOf(t *testing.T, raw json.RawMessage) []string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func elements(t *testing.T, m msg) []json.RawMessage {
	t.Helper()
	var els []json.RawMessage
	if err := json.Unmarshal(m.Data, &els); err != nil || len(els) == 0 {
		t.Fatalf("data of %s: %v", m.raw, err)
	}
	return els
}

func fields(t *testing.T, raw json.RawMessage) map[string]any {
	t.Helper()
	var f map[string]any
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	return f
}

func isDecimal(v any) bool {
	s, ok := v.(string)
	if !ok {
		return false
	}
	_, err := strconv.ParseFloat(s, 64)
	return err == nil && strings.Trim(s, "0123456789.-") == ""
}

// TestVenueChannelShapes subscribes each channel added with the registry and checks its pushes against the
// field lists of okx-v5-websocket.md (§5.10 price-limit, §5.11 estimated-price, §5.12 liquidation-orders,
// §5.14 status) and OKX's opt-summary fields: the arg echoes the selectors, each element has exactly those
// keys, and numbers are decimal strings.
func TestVenueChannelShapes(t *testing.T) {
	_, addr := startSim(t, Config{Rate: 50, Seed: 3})
	c := dial(t, addr, "public")
	c.send(`{"op":"subscribe","args":[{"channel":"liquidation-orders","instType":"SWAP"},` +
		`{"channel":"price-limit","instId":"BTC-USDT-SWAP"},{"channel":"status"},` +
		`{"channel":"opt-summary","instFamily":"BTC-USD"},` +
		`{"channel":"estimated-price","instType":"SWAP","instFamily":"ETH-USDT"}]}`)
	want := map[string]struct {
		arg    map[string]string
		keys   string
		number []string
	}{
		"liquidation-orders": {map[string]string{"channel": "liquidation-orders", "instType": "SWAP"},
			"details instFamily instId instType uly", nil},
		"price-limit": {map[string]string{"channel": "price-limit", "instId": "BTC-USDT-SWAP"},
			"buyLmt enabled instId instType sellLmt ts", []string{"buyLmt", "sellLmt", "ts"}},
		"status": {map[string]string{"channel": "status"},
			"begin end href preOpenBegin scheDesc serviceType state system title ts", []string{"begin", "end", "ts"}},
		"opt-summary": {map[string]string{"channel": "opt-summary", "instFamily": "BTC-USD"},
			"askVol bidVol delta deltaBS fwdPx gamma gammaBS instId instType lever markVol realVol theta thetaBS ts uly vega vegaBS volLv",
			[]string{"askVol", "delta", "deltaBS", "fwdPx", "lever", "markVol", "vegaBS", "ts"}},
		"estimated-price": {map[string]string{"channel": "estimated-price", "instType": "SWAP", "instFamily": "ETH-USDT"},
			"instId instType settlePx settleType ts", []string{"settlePx", "ts"}},
	}
	seen := map[string]bool{}
	var liqTs []int64
	for len(seen) < len(want) || len(liqTs) < 30 {
		m := c.next(5*time.Second, func(m msg) bool { return m.Event == "" })
		ch := m.Arg["channel"]
		w, ok := want[ch]
		if !ok {
			t.Fatalf("push of %s", m.raw)
		}
		seen[ch] = true
		if len(m.Arg) != len(w.arg) {
			t.Fatalf("%s: arg %v, want %v", ch, m.Arg, w.arg)
		}
		for k, v := range w.arg {
			if m.Arg[k] != v {
				t.Fatalf("%s: arg %v, want %v", ch, m.Arg, w.arg)
			}
		}
		for _, el := range elements(t, m) {
			if got := strings.Join(keysOf(t, el), " "); got != w.keys {
				t.Fatalf("%s: keys %q, want %q", ch, got, w.keys)
			}
			f := fields(t, el)
			for _, k := range w.number {
				if !isDecimal(f[k]) {
					t.Fatalf("%s: %s = %v is not a decimal string", ch, k, f[k])
				}
			}
			switch ch {
			case "price-limit":
				if f["enabled"] != true || f["instType"] != "SWAP" {
					t.Fatalf("price-limit %s", el)
				}
			case "opt-summary":
				if id := f["instId"].(string); !strings.HasPrefix(id, "BTC-USD-") || !strings.HasSuffix(id, "-C") && !strings.HasSuffix(id, "-P") {
					t.Fatalf("option id %s", id)
				}
			case "estimated-price":
				if f["instId"] != "ETH-USDT-SWAP" || f["settleType"] != "settlement" {
					t.Fatalf("estimated-price %s", el)
				}
			case "liquidation-orders":
				ds := f["details"].([]any)
				if len(ds) != 1 {
					t.Fatalf("details %v", ds)
				}
				d := ds[0].(map[string]any)
				if got := strings.Join(keysOf(t, mustJSON(t, d)), " "); got != "bkLoss bkPx ccy posSide side sz ts" {
					t.Fatalf("detail keys %q", got)
				}
				for _, k := range []string{"bkLoss", "bkPx", "sz", "ts"} {
					if !isDecimal(d[k]) {
						t.Fatalf("detail %s = %v", k, d[k])
					}
				}
				ts, _ := strconv.ParseInt(d["ts"].(string), 10, 64)
				liqTs = append(liqTs, ts)
			}
		}
	}
	// Like OKX's, liquidation timestamps are not in time order.
	if sort.SliceIsSorted(liqTs, func(i, j int) bool { return liqTs[i] < liqTs[j] }) {
		t.Errorf("liquidation timestamps are sorted: %v", liqTs)
	}
}

func mustJSON(t *testing.T, v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestBooksRPI: books-rpi sends a snapshot then chained updates without a checksum field, with levels
// [px, totalQty, nonRpiQty, count]; books-elp has the books shape.
func TestBooksRPI(t *testing.T) {
	_, addr := startSim(t, Config{Rate: 50, BookDepth: 20})
	c := dial(t, addr, "public")
	c.send(`{"op":"subscribe","args":[{"channel":"books-rpi","instId":"BTC-USDT"},{"channel":"books-elp","instId":"BTC-USDT"}]}`)
	last := map[string]int64{}
	for n := 0; n < 20; n++ {
		m := c.next(5*time.Second, func(m msg) bool { return m.Event == "" })
		ch := m.Arg["channel"]
		el := fields(t, elements(t, m)[0])
		_, hasCS := el["checksum"]
		if hasCS == (ch == "books-rpi") {
			t.Fatalf("%s: checksum present %v: %s", ch, hasCS, m.raw)
		}
		prev, seq := int64(el["prevSeqId"].(float64)), int64(el["seqId"].(float64))
		if l, ok := last[ch]; !ok && (m.Action != "snapshot" || prev != -1) || ok && (m.Action != "update" || prev != l) {
			t.Fatalf("%s: chain broken (last %d): %s", ch, l, m.raw)
		}
		last[ch] = seq
		for _, side := range []string{"asks", "bids"} {
			for _, lv := range el[side].([]any) {
				l := lv.([]any)
				if len(l) != 4 {
					t.Fatalf("level %v", l)
				}
				total, _ := strconv.ParseFloat(l[1].(string), 64)
				third, _ := strconv.ParseFloat(l[2].(string), 64)
				if ch == "books-rpi" && (third > total || total > 0 && third == 0) || ch == "books-elp" && third != 0 {
					t.Fatalf("%s level %v", ch, l)
				}
			}
		}
	}
	if len(last) != 2 {
		t.Fatalf("channels seen: %v", last)
	}
}

// TestVenueSelectorsValidated: missing or unknown selectors get OKX's error codes.
func TestVenueSelectorsValidated(t *testing.T) {
	_, addr := startSim(t, Config{})
	c := dial(t, addr, "public")
	for arg, code := range map[string]string{
		`{"channel":"liquidation-orders"}`:                                    "60013",
		`{"channel":"liquidation-orders","instType":"SPOT"}`:                  "60018",
		`{"channel":"opt-summary","instFamily":"NOPE-USD"}`:                   "60018",
		`{"channel":"estimated-price","instType":"SWAP"}`:                     "60013",
		`{"channel":"estimated-price","instType":"SPOT","instId":"BTC-USDT"}`: "60018",
		`{"channel":"price-limit","instId":"NOPE-USDT"}`:                      "60018",
	} {
		c.send(`{"op":"subscribe","args":[` + arg + `]}`)
		m := c.next(5*time.Second, func(m msg) bool { return m.Event != "" })
		if m.Event != "error" || m.Code != code {
			t.Errorf("%s: %s, want error %s", arg, m.raw, code)
		}
	}
}

// TestListings: with ListEvery, a reserved pair is listed (pushed on the instruments channel, then
// subscribable) and one period later delisted (pushed as expired, refused on subscribe); /stats shows the
// streams subscribed.
func TestListings(t *testing.T) {
	srv, addr := startSim(t, Config{Instruments: 1, Rate: 20, ListEvery: 300 * time.Millisecond})
	var list struct {
		Data []map[string]any `json:"data"`
	}
	get(t, "http://"+addr+"/api/v5/public/instruments?instType=SWAP", &list)
	if len(list.Data) != 1 || list.Data[0]["instId"] != "BTC-USDT-SWAP" {
		t.Fatalf("listed before any listing: %v", list.Data)
	}
	c := dial(t, addr, "public")
	c.send(`{"op":"subscribe","args":[{"channel":"tickers","instId":"ETH-USDT-SWAP"}]}`)
	if m := c.next(5*time.Second, isEvent("error")); m.Code != "60018" {
		t.Fatalf("hidden instrument subscribable: %s", m.raw)
	}
	c.send(`{"op":"subscribe","args":[{"channel":"instruments","instType":"SWAP"}]}`)
	initial := elements(t, c.next(5*time.Second, isPush("instruments")))
	if len(initial) != 1 {
		t.Fatalf("full push has %d instruments", len(initial))
	}
	listed := fields(t, elements(t, c.next(5*time.Second, isPush("instruments")))[0])
	if listed["instId"] != "ETH-USDT-SWAP" || listed["state"] != "live" {
		t.Fatalf("listing push %v", listed)
	}
	c.send(`{"op":"subscribe","args":[{"channel":"tickers","instId":"ETH-USDT-SWAP"}]}`)
	c.next(5*time.Second, isPush("tickers"))
	if n := srv.Stats().Subscribed["tickers:ETH-USDT-SWAP"]; n != 1 {
		t.Fatalf("stats: %d subscribers", n)
	}
	gone := fields(t, elements(t, c.next(5*time.Second, isPush("instruments")))[0])
	if gone["instId"] != "ETH-USDT-SWAP" || gone["state"] != "expired" {
		t.Fatalf("delisting push %v", gone)
	}
	// The subscription taken while it was listed can still be unsubscribed (and its stream stops).
	c.send(`{"op":"unsubscribe","args":[{"channel":"tickers","instId":"ETH-USDT-SWAP"}]}`)
	if m := c.next(5*time.Second, func(m msg) bool { return m.Event != "" }); m.Event != "unsubscribe" {
		t.Fatalf("unsubscribing a delisted instrument: %s", m.raw)
	}
	if n := srv.Stats().Subscribed["tickers:ETH-USDT-SWAP"]; n != 0 {
		t.Fatalf("stats after unsubscribe: %d subscribers", n)
	}
	c2 := dial(t, addr, "public")
	c2.send(`{"op":"subscribe","args":[{"channel":"tickers","instId":"ETH-USDT-SWAP"}]}`)
	if m := c2.next(5*time.Second, isEvent("error")); m.Code != "60018" {
		t.Fatalf("delisted instrument subscribable: %s", m.raw)
	}
}
