//go:build !linux

package store

// lowerThreadPriority does nothing where threads cannot be given their own priority.
func lowerThreadPriority(nice int) {}
