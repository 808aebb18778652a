// Package okxproto holds the OKX v5 WebSocket request rules that the simulator and replay serve both apply.
package okxproto

import (
	"encoding/json"
	"math"
	"strconv"
	"time"
)

// Error is what an OKX error event carries: a code and its message.
type Error struct{ Code, Msg string }

// Errors with a fixed text.
var (
	ErrTooFrequent = &Error{"60014", "Requests too frequent"}
	ErrUlyGone     = &Error{"64000", "Subscription parameter uly is unavailable anymore, please replace uly with instFamily. More details can refer to: https://www.okx.com/help-center/changes-to-v5-api-websocket-subscription-parameter-and-url."}
	ErrLoginAgain  = &Error{"60031", "WebSocket login is not allowed to be repeated or multiple logins"}
	// ErrBusinessOnly: a /business channel subscribed on /public; ErrPublicOnly: the reverse.
	ErrBusinessOnly = &Error{"64001", "This channel has been migrated to the '/business' URL. Please subscribe using the new URL. More details can refer to: https://www.okx.com/help-center/changes-to-v5-api-websocket-subscription-parameter-and-url"}
	ErrPublicOnly   = &Error{"64002", "This channel is not supported by \"business\" URL. Please use \"/public\" URL instead"}
)

// Invalid is OKX's 60012 for the request msg.
func Invalid(msg []byte) *Error { return &Error{"60012", "Invalid request: " + string(msg)} }

// CodeWrongURL is the code of a subscription to a channel or instrument that is not served; WrongURL is its
// message.
const CodeWrongURL = "60018"

// WrongURL is the message of OKX's 60018 for channel with its selector ("instId:BTC-USDT", or "").
func WrongURL(channel, selector string) string {
	s := "channel:" + channel
	if selector != "" {
		s += ", " + selector
	}
	return "Wrong URL or " + s + " doesn't exist. Please use the correct URL, channel and parameters referring to API document."
}

// ParseRequest reads one client request as OKX does: an optional alphanumeric id of at most 32 characters,
// op subscribe, unsubscribe or login, and a non-empty args array. A refused request returns an *Error and
// the id its error event carries ("" when the id itself is bad).
func ParseRequest(msg []byte) (id, op string, args []json.RawMessage, _ *Error) {
	var req map[string]json.RawMessage
	if json.Unmarshal(msg, &req) != nil {
		return "", "", nil, Invalid(msg)
	}
	if raw, ok := req["id"]; ok {
		if json.Unmarshal(raw, &id) != nil || !isAlnumID(id) {
			return "", "", nil, Invalid(msg)
		}
	}
	if json.Unmarshal(req["op"], &op) != nil || op == "" {
		return id, "", nil, Invalid(msg)
	}
	if op != "subscribe" && op != "unsubscribe" && op != "login" {
		return id, op, nil, &Error{"60019", "Invalid op: op:" + op}
	}
	if json.Unmarshal(req["args"], &args) != nil || len(args) == 0 {
		return id, op, nil, Invalid(msg)
	}
	return id, op, args, nil
}

func isAlnumID(s string) bool {
	if len(s) == 0 || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// RequestWindow applies a per-connection limit on requests (subscribe, unsubscribe, login) over a sliding
// hour. The zero value is ready; it is not safe for concurrent use.
type RequestWindow struct{ times []time.Time }

// Allow reports whether a request at now stays within limit requests in the hour up to now, and if so
// counts it.
func (w *RequestWindow) Allow(now time.Time, limit int) bool {
	i := 0
	for i < len(w.times) && now.Sub(w.times[i]) >= time.Hour {
		i++
	}
	w.times = w.times[i:]
	if len(w.times) >= limit {
		return false
	}
	w.times = append(w.times, now)
	return true
}

// Login is the argument of a login request. Its fields are credentials: never log or store them.
type Login struct {
	APIKey     string `json:"apiKey"`
	Passphrase string `json:"passphrase"`
	Timestamp  string `json:"timestamp"`
	Sign       string `json:"sign"`
}

// ParseLogin reads a login request's args: exactly one object.
func ParseLogin(args []json.RawMessage) (Login, *Error) {
	var l Login
	if len(args) != 1 || json.Unmarshal(args[0], &l) != nil {
		return l, &Error{"60012", "Invalid request: login requires exactly one argument"}
	}
	return l, nil
}

// Check applies OKX's shape rules to a login: no empty field, a positive finite timestamp (in seconds,
// returned). It does not check the credentials.
func (l *Login) Check() (ts float64, _ *Error) {
	for _, f := range [][2]string{{"apiKey", l.APIKey}, {"passphrase", l.Passphrase}, {"timestamp", l.Timestamp}, {"sign", l.Sign}} {
		if f[1] == "" {
			return 0, &Error{"60027", "Parameter " + f[0] + " can not be empty."}
		}
	}
	ts, err := strconv.ParseFloat(l.Timestamp, 64)
	if err != nil || math.IsNaN(ts) || math.IsInf(ts, 0) || ts <= 0 {
		return 0, &Error{"60004", "Invalid timestamp"}
	}
	return ts, nil
}
