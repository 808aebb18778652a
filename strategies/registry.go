// Package strategies holds the strategy registry the CLIs read and the built-in strategies print, stats and digest.
package strategies

import (
	"fmt"
	"io"
	"sort"
	"sync"

	"github.com/okxtape/okxtape/engine"
)

// Strategy is plain Go code driven by the engine, identical live and in replay.
//
// Lifecycle: the CLI calls Attach once, before the first event; the strategy registers its handlers (and
// timers) on the engine there. Handlers then run one at a time on the engine's dispatch lock; a strategy
// needs no locking of its own unless it shares state with other goroutines. Summary is called once after the
// last event, and its result is JSON-encoded into the exit summary.
//
// A strategy reads time only through e.Now() and timers only through e.After/e.Every, so that replay
// reproduces live behaviour.
type Strategy interface {
	Attach(e *engine.Engine)
	Summary() any
}

// Factory makes a strategy; out is where it may print (stdout in the CLIs).
type Factory func(out io.Writer) Strategy

var (
	mu       sync.Mutex
	registry = map[string]Factory{}
)

// Register makes a strategy available to `record --strategy` and `replay run --strategy` under name.
// Call it from an init function; registering a name twice panics.
func Register(name string, f Factory) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := registry[name]; dup {
		panic("strategies: duplicate registration of " + name)
	}
	registry[name] = f
}

// New makes the named strategy.
func New(name string, out io.Writer) (Strategy, error) {
	mu.Lock()
	f, ok := registry[name]
	mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("unknown strategy %q (known: %v)", name, Names())
	}
	return f(out), nil
}

// Names lists the registered strategies, sorted.
func Names() []string {
	mu.Lock()
	defer mu.Unlock()
	out := make([]string, 0, len(registry))
	for n := range registry {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func init() {
	Register("print", func(out io.Writer) Strategy { return NewPrint(out) })
	Register("stats", func(io.Writer) Strategy { return NewStats() })
	Register("digest", func(io.Writer) Strategy { return NewDigest() })
}
