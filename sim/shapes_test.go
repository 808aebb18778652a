package sim

import (
	"encoding/json"
	"fmt"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func TestOnGrid(t *testing.T) {
	for _, tc := range []struct {
		v, step string
		want    bool
	}{
		{"60599.4", "0.1", true}, {"60599", "0.1", true}, {"60599.40000000001", "0.1", false},
		{"60599.45", "0.1", false}, {"0.00012345", "0.00000001", true}, {"0.000000001", "0.00000001", false},
		{"60599.40", "0.1", false}, {"6e4", "0.1", false}, {"0.15", "0.05", true}, {"0.17", "0.05", false},
	} {
		if got := OnGrid(tc.v, tc.step); got != tc.want {
			t.Errorf("OnGrid(%q, %q) = %v", tc.v, tc.step, got)
		}
	}
}

// kind names a JSON value's type as encoding/json decodes it: string, number, array of levels.
func kind(v any) string {
	switch v := v.(type) {
	case string:
		return "string"
	case float64:
		return "number"
	case []any:
		for _, e := range v {
			if k := levelKind(e); k != "level" {
				return "array of " + k
			}
		}
		return "array of levels"
	}
	return fmt.Sprintf("%T", v)
}

// levelKind is "level" for a book level as OKX sends it (["px","sz","0","count"]), else the value.
func levelKind(v any) string {
	l, ok := v.([]any)
	if !ok || len(l) != 4 {
		return fmt.Sprintf("%v", v)
	}
	for _, e := range l {
		if _, ok := e.(string); !ok {
			return fmt.Sprintf("%v", v)
		}
	}
	return "level"
}

// TestValuesOnTheGrid checks the simulator's market data against the instruments it lists and against the
// captured OKX frames: every price a whole number of tickSz and every size a whole number of lotSz, written
// as OKX writes decimals; the quote volume at most 8 decimals, growing, and about vol24h × price; book levels
// [px, sz, "0", count] with count 0 exactly for deletions and mostly one order; and every field of the
// fixtures' frames present with the same JSON type.
func TestValuesOnTheGrid(t *testing.T) {
	_, addr := startSim(t, Config{Rate: 100, Instruments: 5})
	grid := map[string][2]string{} // instId -> tickSz, lotSz
	for _, typ := range []string{"SPOT", "SWAP"} {
		var r struct{ Data []map[string]any }
		get(t, "http://"+addr+"/api/v5/public/instruments?instType="+typ, &r)
		for _, d := range r.Data {
			grid[d["instId"].(string)] = [2]string{d["tickSz"].(string), d["lotSz"].(string)}
		}
	}
	fixtures := map[string]map[string]any{"tickers": readFixtureData(t, "ws_tickers.json"),
		"trades": readFixtureData(t, "ws_trades.json"), "bbo-tbt": readFixtureData(t, "ws_bbo_tbt.json"),
		"books": readFixtureData(t, "ws_books_update.json")}
	insts := []string{"BTC-USDT", "DOGE-USDT", "ETH-USDT-SWAP"}
	var args []string
	for _, id := range insts {
		if _, ok := grid[id]; !ok {
			t.Fatalf("%s not listed", id)
		}
		for _, ch := range []string{"tickers", "trades", "books", "books5", "bbo-tbt"} {
			args = append(args, fmt.Sprintf(`{"channel":%q,"instId":%q}`, ch, id))
		}
	}
	c := dial(t, addr, "public")
	c.send(`{"op":"subscribe","args":[` + strings.Join(args, ",") + `]}`)

	type key struct{ ch, inst string }
	seen := map[key]int{}
	lastVolCcy := map[string]*big.Rat{}
	levels, ones := 0, 0
	for len(seen) < 15 || minCount(seen) < 20 {
		m := c.next(5*time.Second, func(m msg) bool { return m.Event == "" && m.Arg["instId"] != "" })
		ch, inst := m.Arg["channel"], m.Arg["instId"]
		seen[key{ch, inst}]++
		tick, lot := grid[inst][0], grid[inst][1]
		var data []map[string]any
		if err := json.Unmarshal(m.Data, &data); err != nil || len(data) != 1 {
			t.Fatalf("%s data: %s", ch, m.raw)
		}
		d := data[0]
		fix := fixtures[ch]
		if ch == "books5" {
			fix = fixtures["bbo-tbt"]
		}
		for k, fv := range fix {
			if k == "checksum" || k == "prevSeqId" { // books: as in the fixture; books5/bbo-tbt have neither
				if _, ok := d[k]; !ok {
					t.Fatalf("%s lacks %q: %s", ch, k, m.raw)
				}
			}
			if want, got := kind(fv), kind(d[k]); want != got {
				t.Fatalf("%s.%s is %s, the captured frame has %s: %s", ch, k, got, want, m.raw)
			}
		}
		str := func(k string) string {
			s, _ := d[k].(string)
			return s
		}
		lv, on, err := GridCheck(ch, d, tick, lot)
		if err != nil {
			t.Fatalf("%s: %v", inst, err)
		}
		levels, ones = levels+lv, ones+on
		switch ch {
		case "tickers":
			vc, _ := new(big.Rat).SetString(str("volCcy24h"))
			if prev := lastVolCcy[inst]; prev != nil && vc.Cmp(prev) < 0 {
				t.Fatalf("%s volCcy24h fell from %s to %s", inst, prev.FloatString(8), str("volCcy24h"))
			}
			lastVolCcy[inst] = vc
			if !strings.HasSuffix(inst, "-SWAP") { // spot: quote volume ≈ base volume × price
				v, _ := new(big.Rat).SetString(str("vol24h"))
				px, _ := new(big.Rat).SetString(str("last"))
				ratio, _ := new(big.Rat).Quo(vc, v.Mul(v, px)).Float64()
				if ratio < 0.9 || ratio > 1.1 {
					t.Fatalf("%s volCcy24h %s is %.2f × vol24h × last", inst, str("volCcy24h"), ratio)
				}
			}
		case "books", "books5", "bbo-tbt":
			for _, side := range []string{"asks", "bids"} {
				lv, _ := d[side].([]any)
				for _, l := range lv {
					if k := levelKind(l); k != "level" {
						t.Fatalf("%s %s level %s", ch, side, k)
					}
				}
			}
		}
	}
	// The captured BTC-USDT book (OKX.ws.1.0) has one order at 80 % of its levels.
	if share := float64(ones) / float64(levels); share < 0.6 || share > 0.95 {
		t.Fatalf("%.0f %% of %d book levels hold one order; OKX's books hold one at about 80 %%", 100*share, levels)
	}
}

func minCount[K comparable](m map[K]int) int {
	n := -1
	for _, v := range m {
		if n < 0 || v < n {
			n = v
		}
	}
	return n
}

// TestSizeShapes checks the size distributions: whole positive lots, a heavy tail (the largest of many
// draws far above the median), and both round sizes and sizes at the lot's full precision.
func TestSizeShapes(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const n = 5000
	round, big, small := 0, 0, 0
	for range n {
		s := LevelSize(r, 3_000_000)
		if s <= 0 {
			t.Fatalf("size %d", s)
		}
		if s%10000 == 0 {
			round++
		}
		if s > 30_000_000 {
			big++
		}
		if tr := TradeSize(r, 30_000, 1000); tr < 1000 {
			small++
		}
	}
	for name, got := range map[string]int{"round": round, "10x the median": big, "trades below minSz": small} {
		if got < n/50 || got > n/2 {
			t.Errorf("%s: %d of %d draws", name, got, n)
		}
	}
	if got := roundSig(1234567, 2); got != 1200000 {
		t.Errorf("roundSig(1234567, 2) = %d", got)
	}
	if got := QuoteUnits(605994, 12345, 9, 8); got != 748099593 { // 60599.4 × 0.00012345 = 7.480995930
		t.Errorf("QuoteUnits = %d", got)
	}
}

// TestGridCheck: GridCheck names the first value off the grid, for each channel's fields, and counts a book's
// levels and one-order levels.
func TestGridCheck(t *testing.T) {
	lvl := func(px, sz, n string) []any { return []any{px, sz, "0", n} }
	ticker := map[string]any{"last": "60599.4", "askPx": "60599.5", "bidPx": "60599.4", "open24h": "60000",
		"high24h": "61000.1", "low24h": "59000", "sodUtc0": "60100", "sodUtc8": "60200", "lastSz": "0.00012345",
		"askSz": "1.5", "bidSz": "0.2", "vol24h": "9000.12345678", "volCcy24h": "545400000.12345678"}
	for _, c := range []struct {
		name, ch     string
		d            map[string]any
		bad          string // "" = on the grid
		lv, onesWant int
	}{
		{"ticker ok", "tickers", ticker, "", 0, 0},
		{"ticker float noise", "tickers", with(ticker, "last", "60599.40000000001"), "tickers.last", 0, 0},
		{"ticker size below the lot", "tickers", with(ticker, "bidSz", "0.000000001"), "tickers.bidSz", 0, 0},
		{"ticker quote volume", "tickers", with(ticker, "volCcy24h", "1.123456789"), "tickers.volCcy24h", 0, 0},
		{"trade ok", "trades", map[string]any{"px": "60599.4", "sz": "0.001"}, "", 0, 0},
		{"trade trailing zero", "trades", map[string]any{"px": "60599.40", "sz": "0.001"}, "trades.px", 0, 0},
		{"book ok", "books", map[string]any{"asks": []any{lvl("60599.5", "1", "1"), lvl("60599.6", "0", "0")},
			"bids": []any{lvl("60599.4", "2", "3")}}, "", 2, 1},
		{"book deletion with orders", "books", map[string]any{"asks": []any{lvl("60599.5", "0", "2")}}, "books asks level", 0, 0},
		{"book short level", "bbo-tbt", map[string]any{"bids": []any{[]any{"60599.4", "1"}}}, "bbo-tbt bids level", 0, 0},
	} {
		lv, ones, err := GridCheck(c.ch, c.d, "0.1", "0.00000001")
		switch {
		case c.bad == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.bad != "" && (err == nil || !strings.Contains(err.Error(), c.bad)):
			t.Errorf("%s: error %v, want one naming %s", c.name, err, c.bad)
		case c.bad == "" && (lv != c.lv || ones != c.onesWant):
			t.Errorf("%s: %d levels, %d with one order; want %d, %d", c.name, lv, ones, c.lv, c.onesWant)
		}
	}
}

func with(m map[string]any, k, v string) map[string]any {
	out := map[string]any{}
	for key, val := range m {
		out[key] = val
	}
	out[k] = v
	return out
}
