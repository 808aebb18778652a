package store

import "errors"

// Sinks classify their errors so the recorder knows what to do with a batch:
//
//   - Temporary (network, server overloaded, too many parts, timeouts): the batch is retried, in order, with
//     backoff. A sink whose Open fails with a temporary error does not stop the recorder from starting: its
//     records wait in the spool until it comes up.
//   - Permanent (schema, type, authentication, unknown table): retrying cannot help. The batch is quarantined
//     to a dead-letter file (RecorderOptions.DeadLetter), an error is logged and counted, and the sink goes
//     on with the next batch, so one bad table never blocks the others. At Open, a permanent error stops
//     the recorder from starting.
//
// An unclassified error is retried like a temporary one, except at Open, where it is fatal.

type classified struct {
	err       error
	permanent bool
}

func (c *classified) Error() string { return c.err.Error() }
func (c *classified) Unwrap() error { return c.err }

// Permanent marks err as one that retrying cannot fix. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &classified{err: err, permanent: true}
}

// Temporary marks err as one that a retry after a backoff may fix. Temporary(nil) is nil.
func Temporary(err error) error {
	if err == nil {
		return nil
	}
	return &classified{err: err}
}

// IsPermanent reports whether err (or an error it wraps) was marked Permanent.
func IsPermanent(err error) bool {
	var c *classified
	return errors.As(err, &c) && c.permanent
}

// IsTemporary reports whether err (or an error it wraps) was marked Temporary.
func IsTemporary(err error) bool {
	var c *classified
	return errors.As(err, &c) && !c.permanent
}
