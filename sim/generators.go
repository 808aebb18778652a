package sim

import "strings"

// simChannel is what the simulator knows of one OKX channel: where OKX serves it, what it is subscribed with,
// and the generator of its pushes.
//
// Adding a channel to okxsim is one line in simChannels (plus its generator type); TestSimulatedChannels
// checks it against the channel registry (schema/channels): every entry marked Simulated must be here, on
// the same endpoint, with a generator.
type simChannel struct {
	path    pathKind // pathPublic unless set
	sel     selKind  // selInstID unless set
	l2      bool     // books-l2-tbt / books50-l2-tbt: login (and fee tier) required, else 64003
	depth   int      // incremental books window (0 for other channels)
	private bool     // account data: pushes come from the private hub (private.go), not from a generator
	// instTypes lists the instTypes a selInstType channel accepts (space separated).
	instTypes string
	swapOnly  bool // instId must be a SWAP
	index     bool // instId is an index (BTC-USDT, BTC-USD), not an instrument
	once      bool // the stream sends its initial push only (no ticks)
	// gen builds the generator of one stream; base is set up for sb's instrument (or index).
	gen func(s *Server, sb *sub, base genBase) generator
}

// candlePrefix marks the candle channels: "candle" + a bar from candleBars.
const candlePrefix = "candle"

var simChannels = map[string]simChannel{
	"tickers":    {gen: func(_ *Server, _ *sub, b genBase) generator { return &tickersGen{genBase: b} }},
	"trades":     {gen: newTradesGen},
	"trades-all": {path: pathBusiness, gen: newTradesGen},
	candlePrefix: {path: pathBusiness, gen: func(_ *Server, sb *sub, b genBase) generator {
		return newCandleGen(b, sb.spec.bar)
	}},
	"books":          {depth: 400, gen: newBooksGen},
	"books-l2-tbt":   {depth: 400, l2: true, gen: newBooksGen},
	"books50-l2-tbt": {depth: 50, l2: true, gen: newBooksGen},
	"books5": {gen: func(_ *Server, _ *sub, b genBase) generator {
		return &topGen{genBase: b, depth: 5, withInst: true}
	}},
	"bbo-tbt":      {gen: func(_ *Server, _ *sub, b genBase) generator { return &topGen{genBase: b, depth: 1} }},
	"mark-price":   {gen: func(_ *Server, _ *sub, b genBase) generator { return &markGen{genBase: b} }},
	"funding-rate": {swapOnly: true, gen: func(_ *Server, _ *sub, b genBase) generator { return &fundingGen{genBase: b} }},
	"open-interest": {swapOnly: true, gen: func(_ *Server, _ *sub, b genBase) generator {
		return &oiGen{genBase: b}
	}},
	"index-tickers": {index: true, gen: func(_ *Server, sb *sub, b genBase) generator {
		return &indexGen{genBase: b, id: sb.instID}
	}},
	"instruments": {sel: selInstType, instTypes: "SPOT SWAP", once: true,
		gen: func(s *Server, sb *sub, b genBase) generator {
			return &instrumentsGen{s: s, prefix: b.prefix, instType: sb.instType}
		}},
	"price-limit": {gen: func(_ *Server, _ *sub, b genBase) generator { return &priceLimitGen{genBase: b} }},
	"books-elp":   {depth: 400, gen: newBooksGen},
	"books-rpi":   {depth: 400, gen: newBooksGen},
	"liquidation-orders": {sel: selInstType, instTypes: "SWAP MARGIN FUTURES OPTION",
		gen: func(s *Server, sb *sub, b genBase) generator { return s.newLiquidationGen(sb, b) }},
	"status": {sel: selNone, gen: func(s *Server, sb *sub, b genBase) generator {
		return &statusGen{venueGen: s.venueBase(sb, b)}
	}},
	"opt-summary": {sel: selInstFamily, gen: func(s *Server, sb *sub, b genBase) generator {
		return s.newOptSummaryGen(sb, b)
	}},
	"estimated-price": {sel: selInstType, instTypes: "OPTION FUTURES SWAP EVENTS",
		gen: func(s *Server, sb *sub, b genBase) generator {
			return &estimatedGen{venueGen: s.venueBase(sb, b), instType: sb.instType, insts: s.estimatedInsts(sb)}
		}},
	"orders":               {path: pathPrivate, sel: selInstType, private: true, instTypes: "SPOT MARGIN SWAP FUTURES OPTION EVENTS ANY"},
	"positions":            {path: pathPrivate, sel: selInstType, private: true, instTypes: "MARGIN SWAP FUTURES OPTION EVENTS ANY"},
	"fills":                {path: pathPrivate, sel: selNone, private: true},
	"account":              {path: pathPrivate, sel: selNone, private: true},
	"balance_and_position": {path: pathPrivate, sel: selNone, private: true},
}

func newTradesGen(s *Server, sb *sub, b genBase) generator {
	return &tradesGen{genBase: b, all: sb.channel == "trades-all", embed: s.cfg.EmbedSendTime}
}

func newBooksGen(s *Server, sb *sub, b genBase) generator {
	g := &booksGen{genBase: b, channel: sb.channel, f: &s.cfg.Faults, checksum: s.cfg.Checksum,
		rpi: sb.channel == "books-rpi"}
	b.m.mu.Lock()
	g.v = b.m.attach(sb.spec.depth)
	b.m.mu.Unlock()
	return g
}

// lookupChannel returns the simulator's description of a channel name.
func lookupChannel(name string) (chanSpec, bool) {
	sc, ok := simChannels[name]
	sp := chanSpec{name: name}
	if !ok {
		bar, isCandle := strings.CutPrefix(name, candlePrefix)
		if !isCandle || !candleBars[bar] {
			return sp, false
		}
		sc, sp.bar = simChannels[candlePrefix], bar
	}
	sp.simChannel = sc
	return sp, true
}

// newGenerator builds the generator of sb's stream (a public channel known to lookupChannel).
func (s *Server) newGenerator(sb *sub) generator {
	sp := sb.spec
	var base genBase
	switch {
	case sp.sel != selInstID: // instType, instFamily (and an instId beside them) or nothing
		base = genBase{s: s, prefix: argPrefix(sb)}
	case sp.index:
		base = genBase{s: s, prefix: pushPrefix(sb.channel, "instId", sb.instID), m: s.indexMarket(sb.instID)}
		base.in = base.m.inst
	default:
		in := s.byID[sb.instID]
		base = genBase{s: s, prefix: pushPrefix(sb.channel, "instId", sb.instID), in: in, m: in.mkt}
	}
	return sp.gen(s, sb, base)
}
