package sim

import (
	"hash/fnv"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/okxtape/okxtape/internal/okxproto"
)

// Generators of liquidation-orders, price-limit, status, opt-summary and estimated-price, in the message
// shapes of okx-v5-websocket.md §5.10-5.14. books-rpi and books-elp are booksGen variants (streams.go).

// argPrefix returns `{"arg":{"channel":ch,...selectors}` with the selectors the subscription gave, in OKX's
// order (instType, instFamily, instId).
func argPrefix(sb *sub) []byte {
	b := []byte(`{"arg":{`)
	b = appendKV(b, "channel", sb.channel)
	for _, kv := range [...][2]string{{"instType", sb.instType}, {"instFamily", sb.instFamily}, {"instId", sb.instID}} {
		if kv[1] != "" {
			b = appendKV(b, kv[0], kv[1])
		}
	}
	return append(b, '}')
}

// venueBase returns the base of a venue generator for sb's stream (b carries its push prefix).
func (s *Server) venueBase(sb *sub, b genBase) venueGen {
	return venueGen{s: s, prefix: b.prefix, rng: s.streamRNG(sb.key)}
}

// streamRNG returns a random source for one stream, reproducible from the server seed and the stream key.
func (s *Server) streamRNG(key string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(key))
	return rand.New(rand.NewPCG(uint64(s.cfg.Seed), h.Sum64()))
}

// venueGen is the base of the generators that are not tied to one instrument's market.
type venueGen struct {
	s      *Server
	prefix []byte
	rng    *rand.Rand
}

func (g *venueGen) stop()                        {}
func (g *venueGen) initial(time.Time) []frameOut { return nil }

func (g *venueGen) open() []byte {
	b := make([]byte, 0, 512)
	b = append(b, g.prefix...)
	return append(b, `,"data":[`...)
}

// midOf returns an instrument's current mid price in ticks.
func midOf(in *instrument) int64 {
	in.mkt.mu.Lock()
	defer in.mkt.mu.Unlock()
	return in.mkt.mid()
}

// liquidationTypes maps a liquidation-orders instType to the type of the instruments it covers (MARGIN
// liquidations are of spot pairs); types the simulator has no instruments of are accepted but stay silent.
var liquidationTypes = map[string]string{"SWAP": "SWAP", "MARGIN": "SPOT", "FUTURES": "FUTURES", "OPTION": "OPTION"}

// ---- liquidation-orders (instType) ----

// liquidationGen pushes one liquidation per tick, round robin over the instruments of its type. Like OKX's
// (which merges several sources), its timestamps are not in time order: each is up to 2 s in the past.
type liquidationGen struct {
	venueGen
	instType string
	insts    []*instrument
	n        int
}

func (s *Server) newLiquidationGen(sb *sub, b genBase) generator {
	g := &liquidationGen{venueGen: s.venueBase(sb, b), instType: sb.instType}
	for _, in := range s.insts {
		if in.Type == liquidationTypes[sb.instType] {
			g.insts = append(g.insts, in)
		}
	}
	return g
}

func (g *liquidationGen) tick(now time.Time) []frameOut {
	if len(g.insts) == 0 {
		return nil
	}
	in := g.insts[g.n%len(g.insts)]
	g.n++
	if !in.listed() {
		return nil
	}
	mid := midOf(in)
	side, posSide := "buy", "short" // a short position is liquidated by a buy
	if g.rng.IntN(2) == 0 {
		side, posSide = "sell", "long"
	}
	if g.instType == "MARGIN" {
		posSide = "net"
	}
	bk := mid + int64(g.rng.IntN(21)-10)
	ccy, fam := "", in.Base+"-"+in.Quote
	if g.instType == "MARGIN" {
		ccy, fam = in.Quote, ""
	}
	b := g.open()
	b = append(b, `{"details":[{`...)
	b = appendKV(b, "bkLoss", fmtFixed(int64(g.rng.IntN(3)), 1))
	b = appendKV(b, "bkPx", fmtFixed(bk, in.TickDec))
	b = appendKV(b, "ccy", ccy)
	b = appendKV(b, "posSide", posSide)
	b = appendKV(b, "side", side)
	b = appendKV(b, "sz", fmtFixed(in.MinSz*int64(1+g.rng.IntN(50)), in.LotDec))
	b = appendKMs(b, "ts", now.UnixMilli()-int64(g.rng.IntN(2000)))
	b = append(b, `}]`...)
	b = appendKV(b, "instFamily", fam)
	b = appendKV(b, "instId", in.ID)
	b = appendKV(b, "instType", g.instType)
	b = appendKV(b, "uly", fam)
	return one(append(b, '}'))
}

// ---- price-limit (instId) ----

// priceLimitGen pushes the band of ±5 % around the mid price.
type priceLimitGen struct{ genBase }

func (g *priceLimitGen) tick(now time.Time) []frameOut {
	g.m.mu.Lock()
	mid := g.m.mid()
	g.m.mu.Unlock()
	b := g.open("")
	b = append(b, '{')
	b = appendKV(b, "instType", g.in.Type)
	b = appendKV(b, "instId", g.in.ID)
	b = appendKV(b, "buyLmt", g.px(mid+mid/20))
	b = appendKV(b, "sellLmt", g.px(mid-mid/20))
	b = appendKMs(b, "ts", now.UnixMilli())
	b = appendKRaw(b, "enabled", []byte("true"))
	return one(append(b, '}'))
}

// ---- status (no selector) ----

// statusGen announces one maintenance at a time and walks it through scheduled → ongoing → completed, a
// state per pushEvery ticks; the current notice is also pushed to each new subscriber.
type statusGen struct {
	venueGen
	n int
}

const statusPushEvery = 5

var statusStates = [...]string{"scheduled", "ongoing", "completed"}

func (g *statusGen) initial(now time.Time) []frameOut { return g.frame(now) }

func (g *statusGen) tick(now time.Time) []frameOut {
	g.n++
	if g.n%statusPushEvery != 0 {
		return nil
	}
	return g.frame(now)
}

func (g *statusGen) frame(now time.Time) []frameOut {
	k := g.n / statusPushEvery
	notice, state := k/len(statusStates), statusStates[k%len(statusStates)]
	begin := now.Truncate(time.Hour).Add(time.Duration(notice+1) * time.Hour).UnixMilli()
	b := g.open()
	b = append(b, '{')
	b = appendKV(b, "title", "Simulated system upgrade "+fmtFixed(int64(notice+1), 0))
	b = appendKV(b, "state", state)
	b = appendKMs(b, "begin", begin)
	b = appendKMs(b, "end", begin+30*60*1000)
	b = appendKV(b, "preOpenBegin", "")
	b = appendKV(b, "href", "https://www.okx.com/help/simulated")
	b = appendKV(b, "serviceType", "0")
	b = appendKV(b, "system", "unified")
	b = appendKV(b, "scheDesc", "")
	b = appendKMs(b, "ts", now.UnixMilli())
	return one(append(b, '}'))
}

// ---- opt-summary (instFamily) ----

// optSummaryGen pushes every option of its family at each tick: five strikes around the underlying's mid,
// calls and puts, expiring at the next 08:00 UTC.
type optSummaryGen struct {
	venueGen
	m       *market
	family  string
	expiry  string
	strikes []int64 // in ticks of the underlying
}

func (s *Server) newOptSummaryGen(sb *sub, b genBase) generator {
	m := s.indexMarket(sb.instFamily)
	g := &optSummaryGen{venueGen: s.venueBase(sb, b), m: m, family: sb.instFamily}
	exp := time.Now().UTC().Truncate(24 * time.Hour).Add(32 * time.Hour)
	g.expiry = exp.Format("060102")
	mid := midOf(m.inst)
	step := max(pow10i(len(fmtFixed(mid, 0)))/100, 1) // about 1 % of the price, a round number
	for k := int64(-2); k <= 2; k++ {
		g.strikes = append(g.strikes, (mid/step+k)*step)
	}
	return g
}

func (g *optSummaryGen) tick(now time.Time) []frameOut {
	in := g.m.inst
	mid := midOf(in)
	fwd := float64(mid) / pow10f(in.TickDec)
	b := g.open()
	n := 0
	for _, k := range g.strikes {
		strike := float64(k) / pow10f(in.TickDec)
		m := math.Log(fwd / strike) // moneyness
		for _, cp := range [...]string{"C", "P"} {
			delta := 0.5 + 0.5*math.Tanh(4*m)
			if cp == "P" {
				delta -= 1
			}
			vol := 0.5 + 0.3*m*m + 0.01*g.rng.Float64()
			if n > 0 {
				b = append(b, ',')
			}
			b = append(b, '{')
			b = appendKV(b, "instType", "OPTION")
			b = appendKV(b, "instId", g.family+"-"+g.expiry+"-"+fmtFixed(k, in.TickDec)+"-"+cp)
			b = appendKV(b, "uly", g.family)
			for _, f := range [...]struct {
				k string
				v float64
			}{{"delta", delta}, {"gamma", 1.5 - math.Abs(delta)}, {"vega", 0.0008}, {"theta", -0.002},
				{"deltaBS", delta}, {"gammaBS", 0.0001}, {"vegaBS", fwd * 0.001}, {"thetaBS", -fwd * 0.0004},
				{"lever", 1 / max(math.Abs(delta), 0.01)}, {"markVol", vol}, {"bidVol", vol - 0.02},
				{"askVol", vol + 0.02}, {"realVol", 0}, {"volLv", vol}} {
				b = appendKV(b, f.k, fmtFloat(f.v, 8))
			}
			b = appendKV(b, "fwdPx", fmtFixed(mid, in.TickDec))
			b = appendKMs(b, "ts", now.UnixMilli())
			b = append(b, '}')
			n++
		}
	}
	return []frameOut{{data: append(b, ']', '}'), items: n}}
}

// ---- estimated-price (instType + instFamily or instId) ----

// settleTypes maps an estimated-price instType to its settleType.
var settleTypes = map[string]string{"SWAP": "settlement", "FUTURES": "delivery", "OPTION": "exercise",
	"EVENTS": "settlement"}

// estimatedGen pushes the estimated settlement price (the mid) of every instrument the selector covers.
type estimatedGen struct {
	venueGen
	instType string
	insts    []*instrument
}

// estimatedInsts returns the instruments an estimated-price subscription covers.
func (s *Server) estimatedInsts(sb *sub) []*instrument {
	var out []*instrument
	for _, in := range s.insts {
		if in.listed() && in.Type == sb.instType && (in.ID == sb.instID || sb.instID == "" && in.Base+"-"+in.Quote == sb.instFamily) {
			out = append(out, in)
		}
	}
	return out
}

func (g *estimatedGen) tick(now time.Time) []frameOut {
	if len(g.insts) == 0 {
		return nil
	}
	b := g.open()
	for i, in := range g.insts {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '{')
		b = appendKV(b, "instId", in.ID)
		b = appendKV(b, "instType", g.instType)
		b = appendKV(b, "settlePx", fmtFixed(midOf(in), in.TickDec))
		b = appendKV(b, "settleType", settleTypes[g.instType])
		b = appendKMs(b, "ts", now.UnixMilli())
		b = append(b, '}')
	}
	return []frameOut{{data: append(b, ']', '}'), items: len(g.insts)}}
}

// validateVenue checks the selectors of the channels above (code and message as OKX), or returns "", "".
func (c *conn) validateVenue(sb *sub) (string, string, bool) {
	bad := func() (string, string, bool) {
		return okxproto.CodeWrongURL, okxproto.WrongURL(sb.channel, sb.selector()), true
	}
	switch sb.channel {
	case "opt-summary":
		if sb.instFamily == "" {
			return "60013", "Invalid args", true
		}
		if c.srv.indexMarket(sb.instFamily) == nil || !strings.HasSuffix(sb.instFamily, "-USD") {
			return bad()
		}
	case "estimated-price":
		if sb.instType == "" || sb.instFamily == "" && sb.instID == "" {
			return "60013", "Invalid args", true
		}
		if settleTypes[sb.instType] == "" || len(c.srv.estimatedInsts(sb)) == 0 {
			return bad()
		}
	default:
		return "", "", false
	}
	return "", "", true
}
