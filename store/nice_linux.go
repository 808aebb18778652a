package store

import (
	"runtime"
	"sync"
	"syscall"
	"unsafe"
)

// schedIdle is Linux's SCHED_IDLE policy (sched.h): the thread runs only when no normal thread wants the
// CPU, and a normal thread waking up takes the CPU from it at once.
const schedIdle = 5

// lockThread locks the calling goroutine to its OS thread, so the scheduling set by setThreadNice and
// setThreadIdle applies to that goroutine only (Linux schedules threads). The thread is never unlocked, so
// it ends with the goroutine instead of going back to the runtime's pool with a changed priority.
func lockThread() { runtime.LockOSThread() }

// setThreadNice gives the calling (locked) thread the nice value nice. Errors are ignored: the thread then
// keeps its priority, which is always safe.
func setThreadNice(nice int) { _ = syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), nice) }

// setThreadIdle moves the calling (locked) thread to SCHED_IDLE (idle=true) or back to SCHED_OTHER, and
// reports whether the kernel accepted it. It refuses to enter SCHED_IDLE when this process could not leave
// it again (an unprivileged process needs RLIMIT_NICE ≥ 20 - nice, `ulimit -e`), so a thread is never
// stuck there.
func setThreadIdle(idle bool) bool {
	if idle && !canLeaveIdle() {
		return false
	}
	return schedSet(idle)
}

func schedSet(idle bool) bool {
	var param [1]int32   // struct sched_param{sched_priority: 0}
	policy := uintptr(0) // SCHED_OTHER
	if idle {
		policy = schedIdle
	}
	_, _, e := syscall.RawSyscall(syscall.SYS_SCHED_SETSCHEDULER, uintptr(syscall.Gettid()), policy,
		uintptr(unsafe.Pointer(&param[0])))
	return e == 0
}

var idleProbe struct {
	once sync.Once
	ok   bool
}

// canLeaveIdle tries, once per process, on a throwaway thread with the dispatchers' nice value, to enter
// SCHED_IDLE and leave it again.
func canLeaveIdle() bool {
	idleProbe.once.Do(func() {
		done := make(chan bool)
		go func() {
			runtime.LockOSThread() // never unlocked: the runtime discards the thread with the goroutine
			setThreadNice(probeNice)
			done <- schedSet(true) && schedSet(false)
		}()
		idleProbe.ok = <-done
	})
	return idleProbe.ok
}

// probeNice is the nice value canLeaveIdle probes with: the highest a dispatcher uses by default.
const probeNice = 10
