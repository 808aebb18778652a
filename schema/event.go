package schema

// Kind identifies an event type. It indexes the engine's handler tables, so it is small and dense.
type Kind uint8

// Event kinds. Stored kinds have a Table; connection kinds are dispatched but never stored.
const (
	KindInvalid Kind = iota
	KindTicker
	KindTrade
	KindCandle
	KindFundingRate
	KindMarkPrice
	KindIndexTicker
	KindOpenInterest
	KindBook
	KindQuote
	KindOrder
	KindFill
	KindBalance
	KindPosition
	KindGap
	KindRaw
	KindSession
	KindConnected
	KindDisconnected
	KindSubscribed
	KindExchangeError
	KindLiquidation
	KindPriceLimit
	KindInstrument
	KindStatus
	KindOptSummary
	KindEstimatedPrice
	KindBookSnapshot // derived: the top of a validated book at a fixed interval (schema/derived.go)
	KindTradeBar     // derived: OHLCV bars from trades
	NumKinds
)

var kindNames = [NumKinds]string{
	KindInvalid: "invalid", KindTicker: "ticker", KindTrade: "trade", KindCandle: "candle",
	KindFundingRate: "funding_rate", KindMarkPrice: "mark_price", KindIndexTicker: "index_ticker",
	KindOpenInterest: "open_interest", KindBook: "book", KindQuote: "quote", KindOrder: "order",
	KindFill: "fill", KindBalance: "balance", KindPosition: "position", KindGap: "gap", KindRaw: "raw",
	KindSession: "session", KindConnected: "connected", KindDisconnected: "disconnected",
	KindSubscribed: "subscribed", KindExchangeError: "exchange_error", KindLiquidation: "liquidation",
	KindPriceLimit: "price_limit", KindInstrument: "instrument", KindStatus: "status",
	KindOptSummary: "opt_summary", KindEstimatedPrice: "estimated_price",
	KindBookSnapshot: "book_snapshot", KindTradeBar: "trade_bar",
}

func (k Kind) String() string {
	if k < NumKinds {
		return kindNames[k]
	}
	return "unknown"
}

// Header is carried by every event.
//
// Seq is the arrival sequence: the engine stamps it on live dispatch (strictly increasing, at least RecvNs, seeded
// from the wall clock so it also increases across recording sessions) and replay preserves the recorded value. It is the
// natural key of every stored row and the tie-break of the replay order.
//
// RecvNs is the local receive time in Unix nanoseconds; it is "local" data, excluded from digests.
// Channel is the OKX channel name as subscribed ("tickers", "candle1m", "books"); InstID the instrument
// (or currency for balances, or "" where a channel has no instrument). Ts is the exchange time in Unix ms.
type Header struct {
	Seq     uint64
	RecvNs  int64
	Channel string
	InstID  string
	Ts      int64
}

// Event is implemented by pointers to the event structs in this package (never by values), so passing an
// Event through an interface does not allocate.
//
// Ownership: an Event handed to a handler belongs to the emitter and is valid only for the duration of the
// call; decoders reuse the same structs for the next frame. A handler that keeps an event copies it (Clone).
type Event interface {
	Kind() Kind
	Hdr() *Header
}

// Stored is an Event with a table: it can write and read itself column by column.
type Stored interface {
	Event
	// WriteRow writes the row's values in Table().Columns order.
	WriteRow(w RowWriter)
	// ReadRow reads values in Table().Columns order, overwriting the receiver.
	ReadRow(r RowReader)
}

// Side of a trade or order, as OKX spells it.
const (
	SideBuy  = "buy"
	SideSell = "sell"
)
