package store

import (
	"errors"
	"os"
	"strings"
	"testing"
)

// TestLockDir is finding 1 at the package level: a second holder of the same folder is refused with the
// first one's pid and host; a holder that died without releasing is reported as unclean to the next one.
func TestLockDir(t *testing.T) {
	dir := t.TempDir()
	l1, err := LockDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = LockDir(dir)
	var le *LockedError
	host, _ := os.Hostname()
	if !errors.As(err, &le) || le.Holder.PID != os.Getpid() || le.Holder.Host != host ||
		!strings.Contains(err.Error(), "pid ") || !strings.Contains(err.Error(), host) {
		t.Fatalf("second lock: %v", err)
	}
	if _, unclean := l1.Unclean(); unclean {
		t.Fatal("a fresh folder reported an unclean previous holder")
	}
	if err := l1.Release(); err != nil {
		t.Fatal(err)
	}
	l2, err := LockDir(dir)
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	if _, unclean := l2.Unclean(); unclean {
		t.Fatal("a clean release reported as unclean")
	}
	if err := l2.unlock(); err != nil { // dies without Release (the kernel drops a dead process's flock)
		t.Fatal(err)
	}
	l3, err := LockDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l3.Release()
	if prev, unclean := l3.Unclean(); !unclean || prev.PID != os.Getpid() {
		t.Fatalf("crashed holder not reported: %+v %v", prev, unclean)
	}
}
