package sim

import (
	"encoding/json"
	"regexp"
	"strconv"
	"testing"
	"time"
)

func TestBarStart(t *testing.T) {
	at := time.Date(2026, 7, 15, 13, 47, 31, 500e6, time.UTC) // a Wednesday
	cst := time.FixedZone("UTC+8", 8*3600)
	tests := []struct {
		bar  string
		want time.Time
	}{
		{"1s", time.Date(2026, 7, 15, 13, 47, 31, 0, time.UTC)},
		{"15m", time.Date(2026, 7, 15, 13, 45, 0, 0, time.UTC)},
		{"4H", time.Date(2026, 7, 15, 12, 0, 0, 0, time.UTC)},
		{"6H", time.Date(2026, 7, 15, 18, 0, 0, 0, cst)}, // UTC+8 aligned: 21:47 CST → 18:00 CST
		{"6Hutc", time.Date(2026, 7, 15, 12, 0, 0, 0, time.UTC)},
		{"1D", time.Date(2026, 7, 15, 0, 0, 0, 0, cst)},
		{"1Dutc", time.Date(2026, 7, 15, 0, 0, 0, 0, time.UTC)},
		{"1Wutc", time.Date(2026, 7, 13, 0, 0, 0, 0, time.UTC)}, // Monday
		{"1Mutc", time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)},
		{"3Mutc", time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)},
	}
	for _, tc := range tests {
		if got := barStart(tc.bar, at); !got.Equal(tc.want) {
			t.Errorf("barStart(%s) = %v, want %v", tc.bar, got, tc.want)
		}
	}
}

func TestCandlesConfirm(t *testing.T) {
	_, addr := startSim(t, Config{Rate: 20})
	c := dial(t, addr, "business")
	c.send(`{"op":"subscribe","args":[{"channel":"candle1s","instId":"BTC-USDT-SWAP"}]}`)
	var open string
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); {
		m := c.next(time.Second, isPush("candle1s"))
		var d [][]string
		if err := json.Unmarshal(m.Data, &d); err != nil || len(d) != 1 || len(d[0]) != 9 {
			t.Fatalf("candle push %s", m.raw)
		}
		ts, _ := strconv.ParseInt(d[0][0], 10, 64)
		if ts%1000 != 0 {
			t.Fatalf("bar ts %d not aligned", ts)
		}
		if d[0][8] == "1" {
			if open != "" && open != d[0][0] {
				t.Fatalf("confirmed bar %s, open bar was %s", d[0][0], open)
			}
			return
		}
		open = d[0][0]
	}
	t.Fatal("no confirmed candle within 3s")
}

var decimal = regexp.MustCompile(`^-?[0-9]+(\.[0-9]*[1-9])?$`)

// TestPushShapes checks every public channel's fields against OKX's documented field names and that all
// numeric strings are plain decimals (no exponent, no trailing zeros).
func TestPushShapes(t *testing.T) {
	_, addr := startSim(t, Config{Rate: 50, EmbedSendTime: true})
	want := map[string][]string{
		"tickers":       {"instType", "instId", "last", "lastSz", "askPx", "askSz", "bidPx", "bidSz", "open24h", "high24h", "low24h", "volCcy24h", "vol24h", "sodUtc0", "sodUtc8", "ts"},
		"trades":        {"instId", "tradeId", "px", "sz", "side", "ts", "count", "source", "seqId"},
		"books5":        {"asks", "bids", "instId", "ts", "seqId"},
		"bbo-tbt":       {"asks", "bids", "ts", "seqId"},
		"funding-rate":  {"instType", "instId", "method", "formulaType", "fundingRate", "nextFundingRate", "fundingTime", "nextFundingTime", "minFundingRate", "maxFundingRate", "interestRate", "impactValue", "settState", "settFundingRate", "premium", "ts"},
		"mark-price":    {"instType", "instId", "markPx", "ts"},
		"index-tickers": {"instId", "idxPx", "open24h", "high24h", "low24h", "sodUtc0", "sodUtc8", "ts"},
		"open-interest": {"instType", "instId", "oi", "oiCcy", "oiUsd", "ts"},
		"trades-all":    {"instId", "tradeId", "px", "sz", "side", "source", "ts"},
	}
	pub := dial(t, addr, "public")
	pub.send(`{"op":"subscribe","args":[{"channel":"tickers","instId":"ETH-USDT"},{"channel":"trades","instId":"BTC-USDT"},{"channel":"books5","instId":"ETH-USDT-SWAP"},{"channel":"bbo-tbt","instId":"BTC-USDT"},{"channel":"funding-rate","instId":"ETH-USDT-SWAP"},{"channel":"mark-price","instId":"BTC-USDT-SWAP"},{"channel":"index-tickers","instId":"ETH-USDT"},{"channel":"open-interest","instId":"BTC-USDT-SWAP"}]}`)
	biz := dial(t, addr, "business")
	biz.send(`{"op":"subscribe","args":[{"channel":"trades-all","instId":"ETH-USDT"}]}`)
	seen := map[string]bool{}
	check := func(m msg) {
		ch := m.Arg["channel"]
		var d []map[string]any
		if err := json.Unmarshal(m.Data, &d); err != nil || len(d) != 1 {
			t.Fatalf("%s data: %s", ch, m.raw)
		}
		for _, k := range want[ch] {
			v, ok := d[0][k]
			if !ok {
				t.Fatalf("%s lacks %q: %s", ch, k, m.raw)
			}
			switch v := v.(type) {
			case string:
				if k != "instId" && k != "instType" && k != "side" && k != "method" && k != "formulaType" && k != "settState" && v != "" && !decimal.MatchString(v) {
					t.Fatalf("%s.%s = %q is not an OKX decimal string", ch, k, v)
				}
			case float64:
				if k != "seqId" {
					t.Fatalf("%s.%s is a JSON number", ch, k)
				}
			}
		}
		if ch == "trades" || ch == "trades-all" {
			id, _ := strconv.ParseInt(d[0]["tradeId"].(string), 10, 64)
			if lag := time.Since(time.Unix(0, id)); lag < 0 || lag > 5*time.Second {
				t.Fatalf("EmbedSendTime tradeId %d is not a recent Unix ns", id)
			}
		}
		seen[ch] = true
	}
	for len(seen) < len(want) {
		c := pub
		if !seen["trades-all"] && len(seen) == len(want)-1 {
			c = biz
		}
		check(c.next(2*time.Second, func(m msg) bool { return m.Event == "" && want[m.Arg["channel"]] != nil }))
	}
}

func TestInstrumentsChannel(t *testing.T) {
	_, addr := startSim(t, Config{Instruments: 3})
	c := dial(t, addr, "public")
	c.send(`{"op":"subscribe","args":[{"channel":"instruments","instType":"SPOT"}]}`)
	m := c.next(time.Second, isPush("instruments"))
	var d []map[string]any
	if err := json.Unmarshal(m.Data, &d); err != nil || len(d) != 3 || d[2]["instId"] != "SOL-USDT" {
		t.Fatalf("instruments push: %s", m.raw)
	}
}
