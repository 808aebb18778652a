package store

import (
	"runtime"
	"syscall"
)

// lowerThreadPriority locks the calling goroutine to its OS thread and gives that thread the nice value nice
// (Linux schedules threads, so this affects this thread only). A sink's dispatcher runs like this: its
// encoding and compression then yield the CPU at once to the ingest and strategy threads whenever they
// wake, instead of sharing it in time slices, and take only what is left. The thread is never unlocked, so
// it ends with the goroutine instead of going back to the runtime's pool. Errors (no permission to change
// the priority) are ignored: the dispatcher then runs at normal priority.
func lowerThreadPriority(nice int) {
	if nice <= 0 {
		return
	}
	runtime.LockOSThread()
	_ = syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), nice)
}
