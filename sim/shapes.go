package sim

import (
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"regexp"
)

// Value shapes as OKX sends them (compared with the captured frames in the fixtures): sizes are whole lots
// with a heavy tail, about a third of them round (a few significant digits, as people type them), the rest at
// the lot's full precision; most book levels hold one order. The simulator's markets and the benchmark mix
// (cmd/benchreport) draw from these, so both look like the real feed.

// Spot is a spot instrument's price and size grid as OKX lists it: tickSz = 10^-TickDec, lotSz = 10^-LotDec,
// minSz = MinSz lots, and a typical price.
type Spot struct {
	TickDec, LotDec int
	MinSz           int64
	Px              float64
}

// SpotOf returns the grid of base-USDT (BTC, ETH, SOL, XRP, DOGE, ADA, LTC, LINK, DOT, AVAX, BCH, TRX, UNI,
// TON), the same the simulator lists.
func SpotOf(base string) (Spot, bool) {
	for _, b := range knownBases {
		if b.base == base {
			return Spot{TickDec: b.tickDec, LotDec: b.spotLot, MinSz: b.spotMinU, Px: b.px}, true
		}
	}
	return Spot{}, false
}

// LevelSize returns a book level's size in lots: log-normal around median lots (a few hundred dollars to
// tens of thousands), at least one lot.
func LevelSize(r *rand.Rand, median int64) int64 {
	return shapeSize(r, median, 1.6, 0.3)
}

// TradeSize returns a trade's size in lots: log-normal around median lots; one trade in ten is the
// remainder of a partly filled order (a few lots, below minSz, as OKX prints "0.00000062").
func TradeSize(r *rand.Rand, median, minSz int64) int64 {
	if r.IntN(10) == 0 {
		return 1 + r.Int64N(max(minSz, 1))
	}
	return shapeSize(r, median, 1.8, 0.35)
}

// Orders returns a level's order count: mostly 1 (about 80 % in the captured BTC-USDT book), rarely many.
func Orders(r *rand.Rand) int32 {
	n := int32(1)
	for n < 40 && r.IntN(5) == 0 {
		n++
	}
	return n
}

// shapeSize draws exp(N(ln median, sigma)) lots; with probability round it keeps 1-2 significant digits.
func shapeSize(r *rand.Rand, median int64, sigma, round float64) int64 {
	v := float64(max(median, 1)) * math.Exp(sigma*r.NormFloat64())
	n := int64(math.Min(v, 1e15))
	if r.Float64() < round {
		n = roundSig(n, 1+r.IntN(2))
	}
	return max(n, 1)
}

// roundSig rounds n to its leading digits significant digits.
func roundSig(n int64, digits int) int64 {
	p := int64(1)
	for q := n; q >= pow10i(digits); q /= 10 {
		p *= 10
	}
	if p == 1 {
		return n
	}
	return (n + p/2) / p * p
}

// FormatFixed formats units×10^-dec as OKX writes prices and sizes: a plain decimal without exponent and
// without trailing zeros ("8476.98", "8477", "0.00011186").
func FormatFixed(units int64, dec int) string { return fmtFixed(units, dec) }

// plainDecimal is how OKX writes a non-negative decimal: no sign, no exponent, no trailing fractional zeros.
var plainDecimal = regexp.MustCompile(`^[0-9]+(\.[0-9]*[1-9])?$`)

// OnGrid reports whether v is a decimal string as OKX writes it and a whole number of step (a decimal
// string such as a tickSz "0.1" or a lotSz "0.00000001"): "60599.4" is on the 0.1 grid,
// "60599.40000000001" and "60599.40" are not.
func OnGrid(v, step string) bool {
	if !plainDecimal.MatchString(v) {
		return false
	}
	a, ok1 := new(big.Rat).SetString(v)
	s, ok2 := new(big.Rat).SetString(step)
	if !ok1 || !ok2 || s.Sign() <= 0 {
		return false
	}
	return a.Quo(a, s).IsInt()
}

// GridCheck checks one push's data element d of channel (tickers, trades or a book channel) against an
// instrument's grid: every price a whole number of tick, every size of lot, 24 h quote volume of 10^-8, book
// order counts whole, and a book level's size 0 exactly when its count is 0. It returns the first value off
// the grid as an error, and for book channels the number of levels that hold orders and of those holding one.
func GridCheck(channel string, d map[string]any, tick, lot string) (levels, ones int, err error) {
	check := func(step string, keys ...string) error {
		for _, k := range keys {
			if v, _ := d[k].(string); !OnGrid(v, step) {
				return fmt.Errorf("%s.%s = %q is not a whole number of %s", channel, k, v, step)
			}
		}
		return nil
	}
	switch channel {
	case "tickers":
		if err := check(tick, "last", "askPx", "bidPx", "open24h", "high24h", "low24h", "sodUtc0", "sodUtc8"); err != nil {
			return 0, 0, err
		}
		if err := check(lot, "lastSz", "askSz", "bidSz", "vol24h"); err != nil {
			return 0, 0, err
		}
		return 0, 0, check("0.00000001", "volCcy24h")
	case "trades":
		if err := check(tick, "px"); err != nil {
			return 0, 0, err
		}
		return 0, 0, check(lot, "sz")
	}
	for _, side := range []string{"asks", "bids"} {
		lv, _ := d[side].([]any)
		for _, l := range lv {
			f, _ := l.([]any)
			if len(f) != 4 {
				return levels, ones, fmt.Errorf("%s %s level %v: want [px, sz, \"0\", count]", channel, side, l)
			}
			px, _ := f[0].(string)
			sz, _ := f[1].(string)
			n, _ := f[3].(string)
			if !OnGrid(px, tick) || !OnGrid(sz, lot) || f[2] != "0" || !OnGrid(n, "1") || (sz == "0") != (n == "0") {
				return levels, ones, fmt.Errorf("%s %s level %v off the grid (tick %s, lot %s; count 0 exactly for a deletion)",
					channel, side, f, tick, lot)
			}
			if n != "0" {
				levels++
				if n == "1" {
					ones++
				}
			}
		}
	}
	return levels, ones, nil
}
