package ingest

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"
)

// ErrLoginRejected means OKX refused the API key, signature or passphrase: retrying cannot help. Run returns
// an error wrapping it (test with errors.Is) so the CLI can exit non-zero.
var ErrLoginRejected = errors.New("okx login rejected")

// Sign returns OKX's WebSocket login signature: base64(HMAC-SHA256(secret, timestamp+"GET"+"/users/self/verify")),
// timestamp in Unix seconds.
func Sign(secret, timestamp string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(timestamp + "GET" + "/users/self/verify"))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// loginRequest builds the login frame. It holds secrets: it is written to the socket and nowhere else.
func loginRequest(cr Credentials, now time.Time) []byte {
	ts := strconv.FormatInt(now.Unix(), 10)
	type arg struct {
		APIKey     string `json:"apiKey"`
		Passphrase string `json:"passphrase"`
		Timestamp  string `json:"timestamp"`
		Sign       string `json:"sign"`
	}
	b, _ := json.Marshal(struct {
		Op   string `json:"op"`
		Args []arg  `json:"args"`
	}{"login", []arg{{cr.APIKey, cr.Passphrase, ts, Sign(cr.Secret, ts)}}})
	return b
}

// OKXError is an error event sent by OKX (code and message as sent, secrets scrubbed from the message).
type OKXError struct {
	Code   string
	Msg    string
	ConnID string
}

func (e *OKXError) Error() string {
	s := "okx error " + e.Code
	if e.Msg != "" {
		s += ": " + e.Msg
	}
	if e.ConnID != "" {
		s += " (connId " + e.ConnID + ")"
	}
	return s
}

// LoginError is a failed login with a sentence for the user. Fatal errors match ErrLoginRejected with
// errors.Is; the others (clock skew, OKX internal errors, rate limits) are retried.
type LoginError struct {
	Endpoint string
	Code     string
	Fatal    bool
	Err      *OKXError // the OKX answer, nil on a timeout
	text     string
}

func (e *LoginError) Error() string { return e.text }

// Unwrap exposes ErrLoginRejected (fatal only) and the OKX error.
func (e *LoginError) Unwrap() []error {
	var out []error
	if e.Fatal {
		out = append(out, ErrLoginRejected)
	}
	if e.Err != nil {
		out = append(out, e.Err)
	}
	return out
}

// loginFailure maps an OKX login error code to a LoginError with a user-facing sentence.
func loginFailure(endpoint string, oe *OKXError) *LoginError {
	code := oe.Code
	le := &LoginError{Endpoint: endpoint, Code: code, Err: oe, Fatal: true}
	switch code {
	case "60005", "60032":
		le.text = "OKX rejected the API key (" + code + "): check OKX_API_KEY and that it belongs to the " +
			"demo/live environment you chose"
	case "60007":
		le.text = "OKX rejected the login signature (60007): check OKX_API_SECRET; it must be the secret " +
			"created with this API key"
	case "60024":
		le.text = "OKX rejected the passphrase (60024): check OKX_API_PASSPHRASE"
	case "60009", "4001":
		le.text = "OKX rejected the login (" + code + "): check OKX_API_KEY, OKX_API_SECRET, " +
			"OKX_API_PASSPHRASE and the demo/live choice"
	case "60026", "60027", "60033":
		le.text = "OKX rejected the login request (" + code + "): " + oe.Msg
	case "60004", "60006":
		le.Fatal = false
		le.text = "OKX rejected the login timestamp (" + code + "): the local clock is more than 30 s " +
			"off; sync it (NTP); retrying"
	case "63999", "64007":
		le.Fatal = false
		le.text = "OKX login failed with an internal error (" + code + "); retrying"
	case "60014", "60023":
		le.Fatal = false
		le.text = "OKX login rate-limited (" + code + "); retrying"
	case "60031":
		le.Fatal = false
		le.text = "OKX refused a repeated login on one connection (60031); reconnecting"
	default:
		le.Fatal = false
		le.text = "OKX login failed (" + code + "): " + oe.Msg + "; retrying"
	}
	le.text += " [" + endpoint + "]"
	return le
}

// isLoginCode reports error codes that answer a login request.
func isLoginCode(code string) bool {
	switch code {
	case "60004", "60005", "60006", "60007", "60009", "60023", "60024", "60026", "60027", "60031",
		"60032", "60033", "63999":
		return true
	}
	return false
}

// scrubber removes credential strings from text that came back from the server, e.g. a 60012
// "Invalid request: {...}" echo of a login frame, and withholds echoes that carry login fields.
type scrubber struct {
	secrets []string
	raw     [][]byte
}

func newScrubber(cr Credentials) scrubber {
	var s scrubber
	for _, v := range [...]string{cr.APIKey, cr.Secret, cr.Passphrase} {
		if len(v) >= 4 {
			s.secrets = append(s.secrets, v)
			s.raw = append(s.raw, []byte(v))
		}
	}
	return s
}

func (s scrubber) scrub(text string) string {
	for _, v := range s.secrets {
		text = strings.ReplaceAll(text, v, "REDACTED")
	}
	if strings.Contains(text, `"sign"`) || strings.Contains(text, `"passphrase"`) {
		return "(request echo withheld: it contained login fields)"
	}
	return text
}

func (s scrubber) containsSecret(frame []byte) bool {
	for _, v := range s.raw {
		if bytes.Contains(frame, v) {
			return true
		}
	}
	return false
}
