package testenv

import (
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

func TestWaitFor(t *testing.T) {
	var n atomic.Int32
	go func() {
		for i := 0; i < 3; i++ {
			n.Add(1)
		}
	}()
	if !WaitFor(5*time.Second, func() bool { return n.Load() == 3 }) {
		t.Fatal("condition that became true was not seen")
	}
	if WaitFor(30*time.Millisecond, func() bool { return false }) {
		t.Fatal("a false condition was reported true")
	}
}

func TestRepoRootHoldsGoMod(t *testing.T) {
	root := RepoRoot(t)
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "internal", "testenv", "testenv.go")); err != nil {
		t.Fatalf("%s is not this repository: %v", root, err)
	}
}

func TestRequiredFollowsTheEnvironment(t *testing.T) {
	r := Requirement{Name: "x", Env: "OKXTAPE_TESTENV_SELFTEST"}
	t.Setenv(r.Env, "1")
	if !r.Required() {
		t.Fatal("not required with the variable set to 1")
	}
	t.Setenv(r.Env, "")
	if r.Required() {
		t.Fatal("required without the variable")
	}
}
