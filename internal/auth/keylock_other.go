//go:build !(linux || darwin || freebsd || openbsd || netbsd || dragonfly)

package auth

import (
	"fmt"
	"os"
)

// lockDataDir opens dir without locking it: this system has no flock(2),
// so nothing stops a key rotation while a server runs (docs/operations.md
// says to stop the server first).
func lockDataDir(dir string, exclusive bool) (*os.File, error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	return d, nil
}

// copyOwner does nothing on this system.
func copyOwner(path string, like os.FileInfo) error { return nil }
