package sim

import "bytes"

// badTokens are the values the BadValueEvery fault puts in place of a price or size: each parses with Go's
// strconv.ParseFloat, none is data.
var badTokens = [...]string{"Inf", "-Infinity", "NaN", "0x1p3"}

// withBadValue returns a copy of a one-element push whose element carries a bad value, and whether it could
// make one: variant k%5 == 0 blanks the exchange ts ("ts":""), the others replace the first decimal string
// (a price or size: digits with one '.') with one of badTokens. A book level gets a bad price that way.
func withBadValue(data []byte, k uint64) ([]byte, bool) {
	if k%5 == 0 {
		if i := bytes.Index(data, []byte(`"ts":"`)); i >= 0 {
			i += len(`"ts":"`)
			if j := bytes.IndexByte(data[i:], '"'); j > 0 {
				return splice(data, i, i+j, ""), true
			}
		}
	}
	tok := badTokens[k%uint64(len(badTokens))]
	for i := 0; i < len(data); i++ {
		if data[i] != '"' {
			continue
		}
		j := i + 1
		dots, digits := 0, 0
		for ; j < len(data) && (data[j] == '.' || data[j] >= '0' && data[j] <= '9'); j++ {
			if data[j] == '.' {
				dots++
			} else {
				digits++
			}
		}
		if j < len(data) && data[j] == '"' && dots == 1 && digits > 0 {
			return splice(data, i+1, j, tok), true
		}
		if j < len(data) && data[j] == '"' {
			i = j // skip the closing quote of a string that was not a decimal
		}
	}
	return data, false
}

func splice(b []byte, from, to int, s string) []byte {
	out := make([]byte, 0, len(b)-(to-from)+len(s))
	out = append(append(append(out, b[:from]...), s...), b[to:]...)
	return out
}

// bombFrame returns a push of n bytes that permessage-deflate shrinks to almost nothing (a deflate bomb
// when compression is on): a tickers push whose one element carries n bytes of padding.
func bombFrame(n int) []byte {
	const head, tail = `{"arg":{"channel":"tickers","instId":"BOMB-USDT"},"data":[{"pad":"`, `","ts":"1"}]}`
	b := make([]byte, 0, n)
	b = append(b, head...)
	for len(b) < n-len(tail) {
		b = append(b, 'A')
	}
	return append(b, tail...)
}
