//go:build linux || darwin || freebsd || openbsd || netbsd || dragonfly

package store

import (
	"os"
	"syscall"
)

// lockMigrations takes path (kaigi.db.migrate beside the database) for
// this process alone until unlock is called: two processes opening one
// SQLite database at once (the server and a `kaigi admin` command, just
// after an upgrade) would otherwise both apply the first missing
// migration, and one of them fail ("table already exists"). goose lists
// what is applied outside any transaction, so SQLite's own locking does
// not keep them apart. (PostgreSQL has goose's advisory-lock locker.)
func lockMigrations(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil // closing releases the lock
}
