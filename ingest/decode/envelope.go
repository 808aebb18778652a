package decode

import "fmt"

func (k FrameKind) String() string {
	switch k {
	case FramePong:
		return "pong"
	case FrameEvent:
		return "event"
	case FramePush:
		return "push"
	}
	return "invalid"
}

// ParseEnvelope classifies a received text frame and fills env (stage one): the text "pong" is FramePong,
// a JSON object with "event" is FrameEvent, one with "arg" and "data" is FramePush. It allocates its
// strings; the hot path uses Decoder.Envelope, which interns them. On error env.Kind is FrameInvalid and
// the error wraps ErrMalformed.
func ParseEnvelope(frame []byte, env *Envelope) error {
	return parseEnvelope(frame, env, nil)
}

// Envelope is ParseEnvelope with the decoder's intern table: for pushes it does not allocate.
func (d *Decoder) Envelope(frame []byte, env *Envelope) error {
	err := parseEnvelope(frame, env, &d.in)
	if err != nil {
		d.stats.Malformed++
	}
	return err
}

func isPong(b []byte) bool {
	i, j := 0, len(b)
	for i < j && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i++
	}
	for j > i && (b[j-1] == ' ' || b[j-1] == '\n' || b[j-1] == '\r' || b[j-1] == '\t') {
		j--
	}
	return string(b[i:j]) == "pong"
}

func parseEnvelope(frame []byte, env *Envelope, in *interner) error {
	*env = Envelope{}
	if len(frame) <= 8 && isPong(frame) {
		env.Kind = FramePong
		return nil
	}
	s := scanner{b: frame}
	var hasEvent, hasArg, hasData bool
	if s.open('{') {
		for n := 0; s.more('}', n); n++ {
			switch string(s.key()) {
			case "event":
				env.Event = s.text(in)
				hasEvent = true
			case "arg":
				s.arg(&env.Arg, in)
				hasArg = true
			case "data":
				env.dataStart, env.dataEnd = s.span()
				hasData = true
			case "action":
				env.Action = action(s.text(in))
			case "eventType":
				env.EventType = s.text(in)
			case "id":
				env.ID = s.text(nil) // per request: not interned (the table would only grow)
			case "code":
				env.Code = s.text(in)
			case "msg":
				env.Msg = s.text(nil)
			case "connId":
				env.ConnID = s.text(nil) // per connection: not interned
			case "channel":
				env.Arg.Channel = s.text(in)
			case "connCount":
				env.ConnCount = s.text(nil)
			case "curPage":
				env.CurPage = s.int(0)
			case "lastPage":
				env.LastPage = s.boolean()
			default:
				s.skip()
			}
		}
	}
	if !s.bad && s.peek() != 0 {
		s.fail("trailing data after the object")
	}
	switch {
	case s.bad:
	case hasEvent:
		env.Kind = FrameEvent
	case hasArg && hasData:
		if env.dataStart >= len(frame) || frame[env.dataStart] != '[' {
			s.k = []byte("data")
			s.fail("data is not an array")
			break
		}
		env.Kind = FramePush
	default:
		s.fail("neither an event nor a push (no \"event\", or no \"arg\"+\"data\")")
	}
	if s.bad {
		*env = Envelope{}
		return s.err("envelope")
	}
	if env.Kind != FramePush {
		env.dataStart, env.dataEnd = 0, 0
	}
	return nil
}

// action maps the two book actions to the schema constants (other values pass through).
func action(a string) string {
	switch a {
	case "snapshot":
		return "snapshot"
	case "update":
		return "update"
	}
	return a
}

// arg reads a subscription argument object.
func (s *scanner) arg(a *Arg, in *interner) {
	if !s.open('{') {
		return
	}
	for n := 0; s.more('}', n); n++ {
		switch string(s.key()) {
		case "channel":
			a.Channel = s.text(in)
		case "instId":
			a.InstID = s.text(in)
		case "instType":
			a.InstType = s.text(in)
		case "instFamily":
			a.InstFamily = s.text(in)
		case "ccy":
			a.Ccy = s.text(in)
		case "uid":
			a.UID = s.text(in)
		default:
			s.skip()
		}
	}
}

// findData locates the top-level "data" value of frame, for envelopes that were not filled from it.
func findData(frame []byte) (start, end int, err error) {
	s := scanner{b: frame}
	if s.open('{') {
		for n := 0; s.more('}', n); n++ {
			if string(s.key()) == "data" {
				start, end = s.span()
				if s.bad {
					break
				}
				if start >= len(frame) || frame[start] != '[' {
					s.fail("data is not an array")
					break
				}
				return start, end, nil
			}
			s.skip()
		}
	}
	if !s.bad {
		return 0, 0, fmt.Errorf("%w: push: no \"data\" array", ErrMalformed)
	}
	return 0, 0, s.err("push")
}
