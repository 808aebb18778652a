package schema

// Connection events are dispatched through the engine so strategies can react to outages; they are not
// stored as such (outages land in the gap ledger). Header.Ts is the local wall time in ms.

// Connected reports a connection that is up and resubscribed. After a reconnect, OutageFromMs..Header.Ts
// is the window in which nothing was received on it.
type Connected struct {
	Header
	Conn         string // label, e.g. "public#0"
	URL          string
	ConnID       string // OKX connId when known
	Reconnect    bool
	OutageFromMs int64
}

func (*Connected) Kind() Kind { return KindConnected }

// Disconnected reports a connection that went down.
type Disconnected struct {
	Header
	Conn   string
	Reason string
}

func (*Disconnected) Kind() Kind { return KindDisconnected }

// Subscribed reports an acknowledged subscription (Channel, InstID in the header; InstType for type-wide
// channels).
type Subscribed struct {
	Header
	Conn     string
	InstType string
}

func (*Subscribed) Kind() Kind { return KindSubscribed }

// ExchangeError reports an OKX error event (code and message as sent), e.g. 60018 for an unknown channel.
type ExchangeError struct {
	Header
	Conn string
	Code string
	Msg  string
}

func (*ExchangeError) Kind() Kind { return KindExchangeError }
