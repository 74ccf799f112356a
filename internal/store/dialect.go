package store

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5/pgconn"
)

// dialect is what differs between the two databases for the code that
// is otherwise shared: how placeholders are written, the few statements
// whose text differs, and how constraint failures are recognised.
//
// Queries are written once, for SQLite, with ? and ?N placeholders; for
// PostgreSQL they are rewritten to $N (rewrite). Where the SQL itself
// differs, the call site picks the text with pick.
type dialect struct {
	postgres bool
	queries  sync.Map // SQLite text → PostgreSQL text
}

var (
	sqliteDialect   = &dialect{}
	postgresDialect = &dialect{postgres: true}
)

// Name is how the dialect is named in errors and logs.
func (d *dialect) Name() string {
	if d.postgres {
		return "postgres"
	}
	return "sqlite"
}

// pick returns the statement text for this dialect.
func (d *dialect) pick(sqlite, postgres string) string {
	if d.postgres {
		return postgres
	}
	return sqlite
}

// rewrite turns a query's ? and ?N placeholders into PostgreSQL's $N,
// leaving quoted text alone. SQLite queries are used as they are.
func (d *dialect) rewrite(q string) string {
	if !d.postgres {
		return q
	}
	if r, ok := d.queries.Load(q); ok {
		return r.(string)
	}
	var b strings.Builder
	b.Grow(len(q) + 8)
	next := 1
	var quote byte
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
			b.WriteByte(c)
		case c == '\'' || c == '"':
			quote = c
			b.WriteByte(c)
		case c == '?':
			j := i + 1
			for j < len(q) && q[j] >= '0' && q[j] <= '9' {
				j++
			}
			b.WriteByte('$')
			if j > i+1 {
				b.WriteString(q[i+1 : j])
				i = j - 1
			} else {
				b.WriteString(strconv.Itoa(next))
				next++
			}
		default:
			b.WriteByte(c)
		}
	}
	r := b.String()
	d.queries.Store(q, r)
	return r
}

// isUnique reports whether err is a unique constraint failing on
// table.column.
func (d *dialect) isUnique(err error, table, column string) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "23505" && pg.TableName == table && pg.ConstraintName == table+"_"+column+"_key"
	}
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed: "+table+"."+column)
}

// isForeignKey reports whether err is a foreign key constraint failing
// (SQLITE_CONSTRAINT_FOREIGNKEY, or PostgreSQL's foreign_key_violation).
func isForeignKey(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "23503"
	}
	var coded interface{ Code() int }
	return errors.As(err, &coded) && coded.Code() == 787
}

// handle is the database handle the store's code uses: *sql.DB with
// every query rewritten for the dialect.
type handle struct {
	*sql.DB
	d *dialect
}

func (h handle) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return h.DB.ExecContext(ctx, h.d.rewrite(q), args...)
}

func (h handle) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return h.DB.QueryContext(ctx, h.d.rewrite(q), args...)
}

func (h handle) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return h.DB.QueryRowContext(ctx, h.d.rewrite(q), args...)
}

func (h handle) Exec(q string, args ...any) (sql.Result, error) {
	return h.ExecContext(context.Background(), q, args...)
}

func (h handle) Query(q string, args ...any) (*sql.Rows, error) {
	return h.QueryContext(context.Background(), q, args...)
}

func (h handle) QueryRow(q string, args ...any) *sql.Row {
	return h.QueryRowContext(context.Background(), q, args...)
}

// txn is a transaction whose queries are rewritten for the dialect.
type txn struct {
	*sql.Tx
	d *dialect
}

func (t *txn) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return t.Tx.ExecContext(ctx, t.d.rewrite(q), args...)
}

func (t *txn) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return t.Tx.QueryContext(ctx, t.d.rewrite(q), args...)
}

func (t *txn) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return t.Tx.QueryRowContext(ctx, t.d.rewrite(q), args...)
}
