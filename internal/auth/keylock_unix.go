//go:build linux || darwin || freebsd || openbsd || netbsd || dragonfly

package auth

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// lockDataDir opens dir and takes flock(2) on it: exclusive (a key
// rotation) fails at once with ErrKeyInUse if anyone holds it; shared
// (whoever loads the key) waits up to keyLockWait for a rotation to end.
// The lock lasts until the returned file is closed or the process ends.
func lockDataDir(dir string, exclusive bool) (*os.File, error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	deadline := time.Now().Add(keyLockWait)
	for {
		err := syscall.Flock(int(d.Fd()), how|syscall.LOCK_NB)
		if err == nil {
			return d, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			d.Close()
			return nil, fmt.Errorf("lock %s: %w", dir, err)
		}
		if exclusive || time.Now().After(deadline) {
			d.Close()
			if exclusive {
				return nil, fmt.Errorf("%s: %w", dir, ErrKeyInUse)
			}
			return nil, fmt.Errorf("%s: a key rotation (kaigi admin rotate-key) has held the data directory for %v", dir, keyLockWait)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// copyOwner gives path the owner and group of like (a rotation run as
// root must leave a key file the server's user can read, as the old one
// was); without the right to, it changes nothing.
func copyOwner(path string, like os.FileInfo) error {
	st, ok := like.Sys().(*syscall.Stat_t)
	if !ok || (int(st.Uid) == os.Getuid() && int(st.Gid) == os.Getgid()) {
		return nil
	}
	return os.Chown(path, int(st.Uid), int(st.Gid))
}
