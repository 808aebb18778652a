// Package decode turns OKX v5 WebSocket text frames into typed schema events without encoding/json.
package decode

import "errors"

// Sentinel errors. Callers count them per kind, log the first of each kind, and keep reading: a bad frame
// never stops a connection.
var (
	// ErrMalformed: the frame is not valid OKX JSON of the expected shape (the caller counts and drops it).
	ErrMalformed = errors.New("okx: malformed frame")
	// ErrUnknownChannel: a push for a channel this decoder does not know (counted, raw frame still stored).
	ErrUnknownChannel = errors.New("okx: unknown channel")
)

// FrameKind classifies a received text frame.
type FrameKind uint8

const (
	FrameInvalid FrameKind = iota
	FramePong              // the literal text "pong"
	FrameEvent             // a control message with "event" (subscribe, unsubscribe, error, login, notice, ...)
	FramePush              // a data push with "arg" and "data"
)

// Arg is a subscription argument as sent or echoed.
type Arg struct {
	Channel    string
	InstID     string
	InstType   string
	InstFamily string
	Ccy        string
	UID        string
}

// Envelope is the first decoding stage: what a frame is, without its data.
//
// For pushes, Arg's strings are interned (no allocation per frame). For events, Event/ID/Code/Msg/ConnID
// are set (Code and Msg as sent; Msg may embed the offending request). An Envelope filled from a frame
// remembers where that frame's "data" array is, so Decoder.Push does not scan for it again; pass Push the
// same frame.
type Envelope struct {
	Kind      FrameKind
	Event     string // subscribe, unsubscribe, error, login, notice, channel-conn-count, channel-conn-count-error
	ID        string
	Code      string
	Msg       string
	ConnID    string
	Arg       Arg
	Action    string // pushes of incremental book channels: "snapshot" or "update"
	EventType string // account/positions pushes: "snapshot" or "event_update"
	ConnCount string // channel-conn-count(-error) events (their top-level "channel" goes to Arg.Channel)
	CurPage   int64  // account/positions snapshot pagination (0 when absent)
	LastPage  bool

	dataStart, dataEnd int // byte range of the push's "data" value in the frame (dataEnd 0: unknown)
}

// RawLevel is one book level's price and size exactly as received (sub-slices of the frame, valid only during
// the emit call).
type RawLevel struct {
	Px, Sz []byte
}

// BookRaw holds the received strings of the levels of the *schema.Book being emitted, index-aligned with
// Book.Bids and Book.Asks, for checksum verification (OKX's CRC32 is over the strings as received).
type BookRaw struct {
	Bids, Asks []RawLevel
}
