package schema

import "strings"

// Gap reasons.
const (
	GapDisconnect = "disconnect" // the connection carrying Channel/InstID was down from FromMs to ToMs
	GapSequence   = "sequence"   // a book seqId chain broke
	GapChecksum   = "checksum"   // a book checksum did not verify
	GapCrossed    = "crossed"    // a book came out crossed
	GapResync     = "resync"     // a book was rebuilt after one of the above; FromMs..ToMs is the blind window
)

// Gap is one row of the gap ledger: a window in which data for Channel/InstID is missing or unreliable.
// Channel and InstID are "" when a whole connection was down (then Conn names it). Ts equals FromMs, so a
// gap sorts into replay where the outage began.
type Gap struct {
	Header
	FromMs int64
	ToMs   int64
	Reason string
	Conn   string // connection label, e.g. "public#0"
	Detail string
}

func (*Gap) Kind() Kind { return KindGap }

// GapTable is the gap ledger.
var GapTable = register(&Table{Name: "gaps", Key: []string{"inst_id", "channel", "ts", "seq"}, Kind: KindGap, New: func() Stored { return new(Gap) },
	Columns: []Column{
		{Name: "from_ms", Type: TimeMs}, {Name: "to_ms", Type: TimeMs},
		{Name: "reason", Type: String, Dict: true}, {Name: "conn", Type: String, Dict: true},
		{Name: "detail", Type: String},
	}})

func (e *Gap) WriteRow(w RowWriter) {
	e.writeHeader(w)
	w.Int64(e.FromMs)
	w.Int64(e.ToMs)
	w.String(e.Reason)
	w.String(e.Conn)
	w.String(e.Detail)
}

func (e *Gap) ReadRow(r RowReader) {
	e.readHeader(r)
	e.FromMs = r.Int64()
	e.ToMs = r.Int64()
	e.Reason = r.String()
	e.Conn = r.String()
	e.Detail = r.String()
}

// Session is one row of the session ledger. The recorder writes one at start (EndMs 0) and one at a clean
// stop with the same SessionID; readers take the row with the largest EndMs (a crashed session keeps 0).
// Ts equals StartMs. Channel and InstID are "".
type Session struct {
	Header
	SessionID   string
	StartMs     int64
	EndMs       int64
	Host        string
	Version     string
	ConfigHash  string
	Channels    string // comma-separated
	Instruments string // comma-separated
}

// SplitList splits a comma-separated list (Session.Channels, Session.Instruments, a flag's value) into its
// items, trimmed, without empty ones.
func SplitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func (*Session) Kind() Kind { return KindSession }

// SessionTable is the session ledger.
var SessionTable = register(&Table{Name: "sessions", Key: []string{"inst_id", "ts", "session_id", "end_ms"}, Kind: KindSession, New: func() Stored { return new(Session) },
	Columns: []Column{
		{Name: "session_id", Type: String}, {Name: "start_ms", Type: TimeMs}, {Name: "end_ms", Type: TimeMs},
		{Name: "host", Type: String}, {Name: "version", Type: String}, {Name: "config_hash", Type: String},
		{Name: "channels", Type: String}, {Name: "instruments", Type: String},
	}})

func (e *Session) WriteRow(w RowWriter) {
	e.writeHeader(w)
	w.String(e.SessionID)
	w.Int64(e.StartMs)
	w.Int64(e.EndMs)
	w.String(e.Host)
	w.String(e.Version)
	w.String(e.ConfigHash)
	w.String(e.Channels)
	w.String(e.Instruments)
}

func (e *Session) ReadRow(r RowReader) {
	e.readHeader(r)
	e.SessionID = r.String()
	e.StartMs = r.Int64()
	e.EndMs = r.Int64()
	e.Host = r.String()
	e.Version = r.String()
	e.ConfigHash = r.String()
	e.Channels = r.String()
	e.Instruments = r.String()
}

// Endpoint names, as stored in Raw.Endpoint.
const (
	EndpointPublic   = "public"
	EndpointBusiness = "business"
	EndpointPrivate  = "private"
)

// Raw is one data frame exactly as received (push frames only: no login, no acks, no pings), kept so that
// replay serve can send frames byte for byte and normalised datasets can be rebuilt after a decoder fix.
// Ts is the receive time in ms (raw frames have no single exchange time). Private-channel frames are stored
// like public ones; login requests and responses never are.
//
// Live, Frame aliases the connection's read buffer and is reused for the next frame: like every event it is
// valid only during dispatch, and a handler that keeps it must copy it (strings.Clone or schema.Clone).
type Raw struct {
	Header
	Endpoint string
	Frame    string
}

func (*Raw) Kind() Kind { return KindRaw }

// RawTable stores raw frames.
var RawTable = register(&Table{Name: "raw", Key: []string{"inst_id", "channel", "endpoint", "frame"}, Kind: KindRaw, New: func() Stored { return new(Raw) },
	Columns: []Column{{Name: "endpoint", Type: String, Dict: true}, {Name: "frame", Type: String}}})

func (e *Raw) WriteRow(w RowWriter) {
	e.writeHeader(w)
	w.String(e.Endpoint)
	w.String(e.Frame)
}

func (e *Raw) ReadRow(r RowReader) {
	e.readHeader(r)
	e.Endpoint = r.String()
	e.Frame = r.String()
}
