package replay

import (
	"math"

	"github.com/okxtape/okxtape/schema"
)

// tournament is a loser tree over the merge's cursors (each an item holding its head's key): replacing the
// smallest head costs one comparison per level, where a binary heap needs two, and that replacement is most
// of the merge's work. Adding cursors (a part installed) rebuilds the tree, which costs a comparison per slot.
type tournament struct {
	slots []item  // the leaves; a free slot holds the sentinel
	tree  []int32 // tree[0]: the winning slot; tree[i] for 0 < i < len(slots): the slot that lost at node i
	win   []int32 // rebuild's scratch: the slot that won at each node
	free  []int32 // free slots
	n     int     // live items
}

// sentinel fills free slots: it loses to every item.
var sentinel = item{ts: maxTs, seq: math.MaxUint64, kind: schema.Kind(math.MaxUint8)}

// top returns the smallest item, or nil when the tree is empty. The caller may change its key (then fixTop)
// or remove it (popTop).
func (t *tournament) top() *item {
	if t.n == 0 {
		return nil
	}
	return &t.slots[t.tree[0]]
}

// add puts it in a free slot; the tree is valid again after rebuild.
func (t *tournament) add(it item) {
	if len(t.free) == 0 {
		t.grow()
	}
	j := t.free[len(t.free)-1]
	t.free = t.free[:len(t.free)-1]
	t.slots[j] = it
	t.n++
}

// grow doubles the slots (at least 64).
func (t *tournament) grow() {
	old := len(t.slots)
	k := max(64, 2*old)
	for j := old; j < k; j++ {
		t.slots = append(t.slots, sentinel)
		t.free = append(t.free, int32(k-1-(j-old))) // popped lowest first
	}
	t.tree = make([]int32, k)
	t.win = make([]int32, k)
}

// rebuild plays every match again, bottom up.
func (t *tournament) rebuild() {
	k := len(t.slots)
	if k == 0 {
		return
	}
	winner := func(node int) int32 {
		if node >= k {
			return int32(node - k)
		}
		return t.win[node]
	}
	for node := k - 1; node >= 1; node-- {
		a, b := winner(2*node), winner(2*node+1)
		if less(&t.slots[b], &t.slots[a]) {
			a, b = b, a
		}
		t.win[node], t.tree[node] = a, b
	}
	t.tree[0] = t.win[1]
}

// fixTop restores the tree after the top item's key grew.
func (t *tournament) fixTop() {
	k := int32(len(t.slots))
	w := t.tree[0]
	for node := (w + k) / 2; node >= 1; node /= 2 {
		if l := t.tree[node]; less(&t.slots[l], &t.slots[w]) {
			t.tree[node], w = w, l
		}
	}
	t.tree[0] = w
}

// popTop removes the top item.
func (t *tournament) popTop() {
	j := t.tree[0]
	t.slots[j] = sentinel
	t.free = append(t.free, j)
	t.n--
	t.fixTop()
}
