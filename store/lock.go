package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// LockFile is the name of the lock file a recorder keeps in its store folder and in its spool folder.
const LockFile = ".okxtape.lock"

// LockInfo is what a lock file records about its holder.
type LockInfo struct {
	PID   int       `json:"pid"`
	Host  string    `json:"host"`
	State string    `json:"state"` // "running" while held, "stopped" after a clean release
	Since time.Time `json:"since"`
}

// LockedError reports a folder held by another live process.
type LockedError struct {
	Dir    string
	Holder LockInfo
}

func (e *LockedError) Error() string {
	if e.Holder.PID == 0 {
		return fmt.Sprintf("%s is in use by another recorder (its lock file %s names no holder yet)", e.Dir, LockFile)
	}
	return fmt.Sprintf("%s is in use by another recorder: pid %d on host %s, running since %s", e.Dir,
		e.Holder.PID, e.Holder.Host, e.Holder.Since.UTC().Format(time.RFC3339))
}

// DirLock is an exclusive flock(2) on DIR/.okxtape.lock held for a recorder's life. The kernel releases it
// when the process dies (kill -9 included), so a stale lock never blocks a restart; the file's content only
// names the holder for the error message and tells a restart whether the last holder stopped cleanly.
type DirLock struct {
	f    *os.File
	dir  string
	me   LockInfo
	prev LockInfo
}

// LockDir creates dir if needed and locks it, or returns a *LockedError naming the holder.
func LockDir(dir string) (*DirLock, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	prev := readLockInfo(f)
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, &LockedError{Dir: dir, Holder: prev}
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	host, _ := os.Hostname()
	l := &DirLock{f: f, dir: dir, prev: prev, me: LockInfo{PID: os.Getpid(), Host: host, State: "running", Since: time.Now()}}
	if err := l.write(l.me); err != nil {
		l.unlock()
		return nil, err
	}
	return l, nil
}

func readLockInfo(f *os.File) LockInfo {
	var li LockInfo
	b := make([]byte, 4096)
	n, _ := f.ReadAt(b, 0)
	_ = json.Unmarshal(b[:n], &li) // an empty or foreign file names no holder
	return li
}

func (l *DirLock) write(li LockInfo) error {
	b, _ := json.Marshal(li)
	b = append(b, '\n')
	err := l.f.Truncate(0)
	if err == nil {
		_, err = l.f.WriteAt(b, 0)
	}
	if err == nil {
		err = l.f.Sync()
	}
	if err != nil {
		return fmt.Errorf("write lock file in %s: %w", l.dir, err)
	}
	return nil
}

// Unclean returns the previous holder when it did not release the lock cleanly (it crashed or was killed).
func (l *DirLock) Unclean() (LockInfo, bool) {
	return l.prev, l.prev.State == "running"
}

// Release marks a clean stop in the lock file and unlocks it. Safe on a nil lock.
func (l *DirLock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	st := l.me
	st.State = "stopped"
	err := l.write(st)
	return errors.Join(err, l.unlock())
}

func (l *DirLock) unlock() error {
	err := syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	err = errors.Join(err, l.f.Close())
	l.f = nil
	return err
}
