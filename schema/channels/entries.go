package channels

import "github.com/okxtape/okxtape/schema"

// CandleBars are the bar suffixes of the candle channels (candle1m, candle1Hutc, ...), as OKX lists them.
var CandleBars = []string{"1m", "3m", "5m", "15m", "30m", "1H", "2H", "4H", "6H", "12H", "1D", "2D", "3D", "5D",
	"1W", "1M", "3M", "1s", "6Hutc", "12Hutc", "1Dutc", "2Dutc", "3Dutc", "5Dutc", "1Wutc", "1Mutc", "3Mutc"}

// markBars are the bars of the mark-price and index candles: the candle bars without 1s.
var markBars = func() []string {
	var out []string
	for _, b := range CandleBars {
		if b != "1s" {
			out = append(out, b)
		}
	}
	return out
}()

var (
	public   = schema.EndpointPublic
	business = schema.EndpointBusiness
	private  = schema.EndpointPrivate
	book     = []schema.Kind{schema.KindBook}
	quote    = []schema.Kind{schema.KindQuote}
)

func kinds(k ...schema.Kind) []schema.Kind { return k }

// The instTypes OKX accepts per channel (okx-v5-websocket.md §5.11-5.13).
var (
	liquidationTypes = []string{"SWAP", "FUTURES", "MARGIN", "OPTION"}
	instrumentTypes  = []string{"SPOT", "MARGIN", "SWAP", "FUTURES", "OPTION", "EVENTS"}
	settleTypes      = []string{"OPTION", "FUTURES", "SWAP", "EVENTS"}
)

// depth returns the rules of an incremental depth channel of the organic book (snapshot + seqId-chained
// updates).
func depth(levels int, checksum bool) *Book {
	return &Book{Incremental: true, SharedChain: true, OrganicOnly: true, MaxLevels: levels, Checksum: checksum}
}

// otherDepth returns the rules of an incremental depth channel of another book than the organic one (ELP,
// RPI): same seqId chain, but REST cannot rebuild it.
func otherDepth(levels int, checksum bool) *Book {
	b := depth(levels, checksum)
	b.OrganicOnly = false
	return b
}

// entries is the registry. Keep one entry per channel; see Entry for what adding one involves.
var entries = []Entry{
	{Name: "tickers", Endpoint: public, Selector: ByInstID, Decoder: "ticker",
		Kinds: kinds(schema.KindTicker), Render: RenderRows, Digest: DigestHash, Simulated: true,
		Doc: "last price, best bid/ask, 24 h volume"},
	{Name: "trades", Endpoint: public, Selector: ByInstID, Decoder: "trade",
		Kinds: kinds(schema.KindTrade), Render: RenderRows, Digest: DigestHash, Simulated: true,
		Doc: "trades (aggregated by taker order)"},
	{Name: "trades-all", Endpoint: business, Selector: ByInstID, Decoder: "trade",
		Kinds: kinds(schema.KindTrade), Render: RenderRows, Digest: DigestHash, Simulated: true,
		Doc: "every trade, one per message"},
	{Name: "candle", Suffixes: CandleBars, Endpoint: business, Selector: ByInstID, Decoder: "candle",
		Kinds: kinds(schema.KindCandle), Render: RenderRows, Digest: DigestHash, Simulated: true,
		Doc: "candlesticks of one bar size"},
	{Name: "mark-price-candle", Suffixes: markBars, Endpoint: business, Selector: ByInstID, Decoder: "short-candle",
		Kinds: kinds(schema.KindCandle), Render: RenderRows, Digest: DigestHash,
		Doc: "mark-price candlesticks"},
	{Name: "index-candle", Suffixes: markBars, Endpoint: business, Selector: ByInstID, Decoder: "short-candle",
		Kinds: kinds(schema.KindCandle), Render: RenderRows, Digest: DigestHash,
		Doc: "index candlesticks"},
	{Name: "books", Endpoint: public, Selector: ByInstID, Decoder: "book-update",
		Kinds: book, Derived: quote, Book: depth(400, true), Render: RenderRows, Digest: DigestHash, Simulated: true,
		Doc: "400-level book, snapshot + 100 ms updates"},
	{Name: "books5", Endpoint: public, Selector: ByInstID, Decoder: "book-snapshot",
		Kinds: book, Derived: quote, Book: &Book{MaxLevels: 5}, Render: RenderRows, Digest: DigestHash, Simulated: true,
		Doc: "5-level book snapshots every 100 ms"},
	{Name: "bbo-tbt", Endpoint: public, Selector: ByInstID, Decoder: "book-snapshot",
		Kinds: book, Derived: quote, Book: &Book{MaxLevels: 1}, Render: RenderRows, Digest: DigestHash, Simulated: true,
		Doc: "best bid/offer every 10 ms"},
	{Name: "books-l2-tbt", Endpoint: public, Selector: ByInstID, Login: true, Decoder: "book-update",
		Kinds: book, Derived: quote, Book: depth(400, true), Render: RenderRows, Digest: DigestHash, Simulated: true,
		Doc: "400-level book tick by tick (login, VIP4)"},
	{Name: "books50-l2-tbt", Endpoint: public, Selector: ByInstID, Login: true, Decoder: "book-update",
		Kinds: book, Derived: quote, Book: depth(50, true), Render: RenderRows, Digest: DigestHash, Simulated: true,
		Doc: "50-level book tick by tick (login, VIP4)"},
	{Name: "books-elp", Endpoint: public, Selector: ByInstID, Decoder: "book-update",
		Kinds: book, Derived: quote, Book: otherDepth(400, true), Render: RenderRows, Digest: DigestHash, Simulated: true,
		Doc: "ELP orders book (older name of books-rpi)"},
	{Name: "books-rpi", Endpoint: public, Selector: ByInstID, Decoder: "book-update",
		Kinds: book, Derived: quote, Book: otherDepth(400, false), Render: RenderRows, Digest: DigestHash, Simulated: true,
		Doc: "merged organic + RPI book, levels [px, totalQty, nonRpiQty, count], no checksum"},
	{Name: "funding-rate", Endpoint: public, Selector: ByInstID, Decoder: "funding",
		Kinds: kinds(schema.KindFundingRate), Render: RenderRows, Digest: DigestHash, Simulated: true,
		Doc: "funding rate of a perpetual"},
	{Name: "mark-price", Endpoint: public, Selector: ByInstID, Decoder: "mark",
		Kinds: kinds(schema.KindMarkPrice), Render: RenderRows, Digest: DigestHash, Simulated: true,
		Doc: "mark price"},
	{Name: "index-tickers", Endpoint: public, Selector: ByInstID, Decoder: "index",
		Kinds: kinds(schema.KindIndexTicker), Render: RenderRows, Digest: DigestHash, Simulated: true,
		Doc: "index price (instId is an index, e.g. BTC-USDT)"},
	{Name: "open-interest", Endpoint: public, Selector: ByInstID, Decoder: "oi",
		Kinds: kinds(schema.KindOpenInterest), Render: RenderRows, Digest: DigestHash, Simulated: true,
		Doc: "open interest"},
	{Name: "liquidation-orders", Endpoint: public, Selector: ByInstType, InstTypes: liquidationTypes, Decoder: "liquidation",
		Kinds: kinds(schema.KindLiquidation), Render: RenderRawOnly, Digest: DigestHash, Simulated: true,
		Doc: "liquidations (--inst-type; not in time order)"},
	{Name: "price-limit", Endpoint: public, Selector: ByInstID, Decoder: "price-limit",
		Kinds: kinds(schema.KindPriceLimit), Render: RenderRawOnly, Digest: DigestHash, Simulated: true,
		Doc: "highest buy / lowest sell price allowed"},
	{Name: "instruments", Endpoint: public, Selector: ByInstType, InstTypes: instrumentTypes, Decoder: "instrument",
		Kinds: kinds(schema.KindInstrument), Render: RenderRawOnly, Digest: DigestHash, Simulated: true,
		Doc: "instrument list and changes (--inst-type); drives --all-instruments listings"},
	{Name: "status", Endpoint: public, Selector: ByNone, Decoder: "status",
		Kinds: kinds(schema.KindStatus), Render: RenderRawOnly, Digest: DigestHash, Simulated: true,
		Doc: "system maintenance notices"},
	{Name: "opt-summary", Endpoint: public, Selector: ByInstFamily, InstTypes: []string{"OPTION"}, Decoder: "opt-summary",
		Kinds: kinds(schema.KindOptSummary), Render: RenderRawOnly, Digest: DigestHash, Simulated: true,
		Doc: "option greeks and implied volatilities (--inst: families, e.g. BTC-USD)"},
	{Name: "estimated-price", Endpoint: public, Selector: ByInstFamily, InstTypes: settleTypes, Decoder: "estimated-price",
		Kinds: kinds(schema.KindEstimatedPrice), Render: RenderRawOnly, Digest: DigestHash, Simulated: true,
		Doc: "estimated delivery/exercise/settlement price (--inst: families, with --inst-type)"},
	{Name: "orders", Endpoint: private, Selector: ByInstType, Login: true, Decoder: "order",
		Kinds: kinds(schema.KindOrder), Render: RenderRawOnly, Digest: DigestHash, Simulated: true,
		Doc: "your orders (--inst-type)"},
	{Name: "fills", Endpoint: private, Selector: ByInstID, Login: true, Decoder: "fill",
		Kinds: kinds(schema.KindFill), Render: RenderRawOnly, Digest: DigestHash, Simulated: true,
		Doc: "your fills (VIP4+)"},
	{Name: "account", Endpoint: private, Selector: ByCcy, Login: true, Decoder: "balance",
		Kinds: kinds(schema.KindBalance), Render: RenderRawOnly, Digest: DigestHash, Simulated: true,
		Doc: "your balances"},
	{Name: "positions", Endpoint: private, Selector: ByInstType, Login: true, Decoder: "position",
		Kinds: kinds(schema.KindPosition), Render: RenderRawOnly, Digest: DigestHash, Simulated: true,
		Doc: "your positions (--inst-type)"},
	{Name: "balance_and_position", Endpoint: private, Selector: ByNone, Login: true, Decoder: "balance-position",
		Kinds: kinds(schema.KindBalance, schema.KindPosition), Render: RenderRawOnly, Digest: DigestHash, Simulated: true,
		Doc: "your balances and positions together"},
}
