package cascade

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if a goroutine outlives them: relays,
// their offers and their readers all end when their connections close.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// pion's NACK generator stops its loop a moment after its
		// PeerConnection closes (as internal/server's tests allow).
		goleak.IgnoreTopFunction("github.com/pion/interceptor/pkg/nack.(*GeneratorInterceptor).loop"),
	)
}
