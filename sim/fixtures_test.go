package sim

import (
	"os"
	"testing"
)

// skipWithoutFixture skips when the shared OKX fixtures are not beside the repository, unless CI requires
// them (OKXTAPE_REQUIRE_FIXTURES=1).
func skipWithoutFixture(t testing.TB, err error) {
	t.Helper()
	if os.Getenv("OKXTAPE_REQUIRE_FIXTURES") == "1" {
		t.Fatalf("OKX fixtures are required (OKXTAPE_REQUIRE_FIXTURES=1): %v", err)
	}
	t.Skipf("fixture: %v", err)
}
