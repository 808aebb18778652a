//go:build !linux

package store

// lockThread does nothing where threads cannot be given their own priority.
func lockThread() {}

// setThreadNice does nothing where threads cannot be given their own priority.
func setThreadNice(nice int) {}

// setThreadIdle does nothing where threads cannot be given their own priority; it reports false.
func setThreadIdle(idle bool) bool { return false }
