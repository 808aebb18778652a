package strategies

import (
	"bufio"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/okxtape/okxtape/engine"
	"github.com/okxtape/okxtape/schema"
)

// Print writes one human-readable line per market, account, gap and connection event.
type Print struct {
	mu sync.Mutex // Summary is called from outside the engine (after the run), while wall timers may still fire
	w  *bufio.Writer
	n  uint64
}

// NewPrint returns the print strategy writing to out.
func NewPrint(out io.Writer) *Print { return &Print{w: bufio.NewWriterSize(out, 64<<10)} }

// Attach registers the handler and a timer that flushes output every 200 ms of engine time.
func (p *Print) Attach(e *engine.Engine) {
	e.OnAll("print", p.event)
	e.Every(200*time.Millisecond, "print-flush", func() {
		p.mu.Lock()
		p.w.Flush()
		p.mu.Unlock()
	})
}

func ts(ms int64) string { return time.UnixMilli(ms).UTC().Format("15:04:05.000") }

func (p *Print) event(ev schema.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	h := ev.Hdr()
	switch e := ev.(type) {
	case *schema.Ticker:
		fmt.Fprintf(p.w, "%s ticker %-14s last=%g bid=%g/%g ask=%g/%g\n", ts(h.Ts), h.InstID, e.Last, e.BidPx, e.BidSz, e.AskPx, e.AskSz)
	case *schema.Trade:
		fmt.Fprintf(p.w, "%s trade  %-14s %-4s %g @ %g id=%d\n", ts(h.Ts), h.InstID, e.Side, e.Sz, e.Px, e.TradeID)
	case *schema.Candle:
		fmt.Fprintf(p.w, "%s %s %-14s o=%g h=%g l=%g c=%g v=%g confirm=%t\n", ts(h.Ts), h.Channel, h.InstID, e.Open, e.High, e.Low, e.Close, e.Vol, e.Confirm)
	case *schema.Quote:
		fmt.Fprintf(p.w, "%s quote  %-14s %g/%g x %g/%g (%s #%d)\n", ts(h.Ts), h.InstID, e.BidPx, e.BidSz, e.AskPx, e.AskSz, h.Channel, e.SeqID)
	case *schema.Book:
		fmt.Fprintf(p.w, "%s %s %-14s %s bids=%d asks=%d seq=%d\n", ts(h.Ts), h.Channel, h.InstID, e.Action, len(e.Bids), len(e.Asks), e.SeqID)
	case *schema.FundingRate:
		fmt.Fprintf(p.w, "%s funding %-14s rate=%g next=%s\n", ts(h.Ts), h.InstID, e.FundingRate, ts(e.FundingTime))
	case *schema.MarkPrice:
		fmt.Fprintf(p.w, "%s mark   %-14s %g\n", ts(h.Ts), h.InstID, e.MarkPx)
	case *schema.IndexTicker:
		fmt.Fprintf(p.w, "%s index  %-14s %g\n", ts(h.Ts), h.InstID, e.IdxPx)
	case *schema.OpenInterest:
		fmt.Fprintf(p.w, "%s oi     %-14s %g\n", ts(h.Ts), h.InstID, e.OI)
	case *schema.Order:
		fmt.Fprintf(p.w, "%s order  %-14s %s %s %s %g @ %g filled=%g\n", ts(h.Ts), h.InstID, e.OrdID, e.Side, e.State, e.Sz, e.Px, e.AccFillSz)
	case *schema.Fill:
		fmt.Fprintf(p.w, "%s fill   %-14s %s %s %g @ %g\n", ts(h.Ts), h.InstID, e.OrdID, e.Side, e.FillSz, e.FillPx)
	case *schema.Balance:
		fmt.Fprintf(p.w, "%s balance %-6s eq=%g avail=%g\n", ts(h.Ts), h.InstID, e.Eq, e.AvailBal)
	case *schema.Position:
		fmt.Fprintf(p.w, "%s position %-14s %s pos=%g avg=%g upl=%g\n", ts(h.Ts), h.InstID, e.PosSide, e.Pos, e.AvgPx, e.Upl)
	case *schema.Gap:
		fmt.Fprintf(p.w, "%s GAP    %-14s %s %s %s..%s %s\n", ts(h.Ts), h.InstID, h.Channel, e.Reason, ts(e.FromMs), ts(e.ToMs), e.Detail)
	case *schema.Connected:
		fmt.Fprintf(p.w, "%s connected %s reconnect=%t\n", ts(h.Ts), e.Conn, e.Reconnect)
	case *schema.Disconnected:
		fmt.Fprintf(p.w, "%s disconnected %s: %s\n", ts(h.Ts), e.Conn, e.Reason)
	case *schema.ExchangeError:
		fmt.Fprintf(p.w, "%s OKX error %s: %s\n", ts(h.Ts), e.Code, e.Msg)
	default:
		return
	}
	p.n++
}

// Summary flushes the output and reports the number of lines printed.
func (p *Print) Summary() any {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.w.Flush()
	return map[string]uint64{"lines": p.n}
}
