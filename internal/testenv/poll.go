package testenv

import (
	"testing"
	"time"
)

// pollEvery is how often WaitFor checks its condition.
const pollEvery = 10 * time.Millisecond

// WaitFor polls cond until it returns true and reports whether it did within timeout. The timeout is a
// bound against hanging, not a measurement: pick it generously.
func WaitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(pollEvery)
	}
}

// Eventually fails the test with msg (formatted with args) unless cond becomes true within timeout.
func Eventually(tb testing.TB, timeout time.Duration, cond func() bool, msg string, args ...any) {
	tb.Helper()
	if !WaitFor(timeout, cond) {
		tb.Fatalf("not within %s: "+msg, append([]any{timeout}, args...)...)
	}
}
