package ingest

import (
	"errors"
	"fmt"

	"github.com/okxtape/okxtape/ingest/decode"
	"github.com/okxtape/okxtape/schema"
)

// Subscriptions added and removed while the client runs (record's --all-instruments follows the instruments
// channel this way). A slot's args are the truth: every (re)connection subscribes them, and adopt brings a
// connection that was subscribed with an older list up to date, so a change racing a reconnect or a 64008
// handover is not lost.

// Add subscribes args that are not subscribed yet, each on the least loaded connection of its endpoint (of
// the same login kind). It does not wait for the acks; an arg no connection can take is reported in the
// error and the others are still added. Safe for concurrent use; it must not be called from Config.Emit of a
// connection that is being subscribed (it may write to the network).
func (c *Client) Add(args []decode.Arg) error {
	var errs []error
	bySlot := map[*slot][]decode.Arg{}
	var order []*slot
	c.subMu.Lock()
	for _, a := range args {
		k := a.Channel + "|" + a.InstID
		if _, dup := c.byInst[k]; dup {
			continue
		}
		s := c.pickSlot(a)
		if s == nil {
			errs = append(errs, fmt.Errorf("ingest: add %s: no connection serves endpoint %s", argString(a),
				EndpointOf(a.Channel)))
			continue
		}
		c.byInst[k], c.byInstArg[k] = s, a
		if bySlot[s] == nil {
			order = append(order, s)
		}
		bySlot[s] = append(bySlot[s], a)
	}
	c.subMu.Unlock()
	for _, s := range order {
		if err := s.change(bySlot[s], nil); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Remove unsubscribes args (those not subscribed are ignored) and drops the local books of their depth
// channels. Safe for concurrent use, with the same caveat as Add.
func (c *Client) Remove(args []decode.Arg) error {
	bySlot := map[*slot][]decode.Arg{}
	var order []*slot
	c.subMu.Lock()
	for _, a := range args {
		k := a.Channel + "|" + a.InstID
		s := c.byInst[k]
		if s == nil {
			continue
		}
		delete(c.byInst, k)
		if bySlot[s] == nil {
			order = append(order, s)
		}
		bySlot[s] = append(bySlot[s], c.byInstArg[k])
		delete(c.byInstArg, k)
	}
	c.subMu.Unlock()
	var errs []error
	for _, s := range order {
		if err := s.change(nil, bySlot[s]); err != nil {
			errs = append(errs, err)
		}
		for _, a := range bySlot[s] {
			if isBookChannel(a.Channel) {
				s.books.Reset(a.Channel, a.InstID)
			}
		}
	}
	return errors.Join(errs...)
}

// pickSlot returns the slot with the fewest args among those of a's endpoint and login kind. Called with
// subMu held.
func (c *Client) pickSlot(a decode.Arg) *slot {
	ep := EndpointOf(a.Channel)
	login := ep == schema.EndpointPrivate || needsLogin(a.Channel) && !c.cfg.Credentials.Empty()
	var best *slot
	bestN := 0
	for _, s := range c.slots {
		if s.endpoint != ep || s.login != login {
			continue
		}
		args, _ := s.subscriptions()
		if best == nil || len(args) < bestN {
			best, bestN = s, len(args)
		}
	}
	return best
}

// change adds and removes args of the slot and, when it is connected, sends the requests on its connection
// (a connection being established picks the change up in adopt). A request that cannot be written means the
// connection is going down: its replacement subscribes the new list, so that is not an error; a spent
// request budget is (the change then waits for the next connection).
func (s *slot) change(add, remove []decode.Arg) error {
	s.mu.Lock()
	gone := make(map[string]bool, len(remove))
	for _, a := range remove {
		gone[argKey(a)] = true
	}
	next := make([]decode.Arg, 0, len(s.args)+len(add))
	for _, a := range s.args {
		if !gone[argKey(a)] {
			next = append(next, a)
		}
	}
	s.setArgs(append(next, add...))
	cn := s.cur
	s.mu.Unlock()
	if cn == nil || cn.isClosing() {
		return nil // the next connection subscribes the new list
	}
	err := sendChanges(cn, add, remove)
	if err != nil && !errors.Is(err, ErrRequestBudget) {
		s.c.log.Debug("subscription change not sent; the next connection applies it", "conn", s.label, "err", err)
		return nil
	}
	return err
}

func sendChanges(cn *conn, add, remove []decode.Arg) error {
	var errs []error
	if len(remove) > 0 {
		errs = append(errs, cn.send("unsubscribe", remove))
	}
	if len(add) > 0 {
		errs = append(errs, cn.send("subscribe", add))
	}
	return errors.Join(errs...)
}

// adopt makes cn, subscribed with the args subscribed, the slot's connection and sends what changed in the
// slot's args since (subscribes for added args, unsubscribes for removed ones).
func (s *slot) adopt(cn *conn, subscribed []decode.Arg) {
	s.mu.Lock()
	s.cur = cn
	had := make(map[string]bool, len(subscribed))
	for _, a := range subscribed {
		had[argKey(a)] = true
	}
	var add, remove []decode.Arg
	for _, a := range s.args {
		if !had[argKey(a)] {
			add = append(add, a)
		}
		delete(had, argKey(a))
	}
	for _, a := range subscribed {
		if had[argKey(a)] {
			remove = append(remove, a)
		}
	}
	s.mu.Unlock()
	if err := sendChanges(cn, add, remove); err != nil {
		s.c.log.Warn("updating subscriptions after connecting", "conn", s.label, "err", err)
	}
}
