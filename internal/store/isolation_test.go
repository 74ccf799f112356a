package store

import (
	"context"
	"testing"
)

// TestWritesWhateverTheDefaultIsolation: on a PostgreSQL database whose
// default_transaction_isolation is stricter than READ COMMITTED (an
// operator's choice), writers still follow one another through the
// write lock: concurrent audit appends all succeed and the chain
// verifies. Without READ COMMITTED set on the write transactions, about
// half of them failed (duplicate audit_log_pkey under REPEATABLE READ,
// SQLSTATE 40001 under SERIALIZABLE).
func TestWritesWhateverTheDefaultIsolation(t *testing.T) {
	for _, level := range []string{"repeatable read", "serializable"} {
		t.Run(level, func(t *testing.T) {
			s := openBackend(t, "postgres")
			raw := rawDB(t, s)
			var name string
			if err := raw.QueryRow(`SELECT current_database()`).Scan(&name); err != nil {
				t.Fatal(err)
			}
			// The setting applies to sessions that start afterwards: a
			// second handle on the database.
			if _, err := raw.Exec(`ALTER DATABASE "` + name + `" SET default_transaction_isolation = '` + level + `'`); err != nil {
				t.Fatal(err)
			}
			s2, err := reopen(t, s, testSealer(t))
			if err != nil {
				t.Fatal(err)
			}
			defer s2.Close()
			ctx := context.Background()
			var got string
			if err := s2.db.QueryRowContext(ctx, `SHOW default_transaction_isolation`).Scan(&got); err != nil || got != level {
				t.Fatalf("default_transaction_isolation %q (%v), want %q", got, err, level)
			}
			appendConcurrently(t, s2, 20)
		})
	}
}
