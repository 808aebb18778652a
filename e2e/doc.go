// Package e2e holds acceptance tests that build and drive the real record, replay and okxsim binaries.
package e2e
