package server

// The TLS certificate the server presents, reloaded from its files
// without a restart: on SIGHUP (cmd/kaigi calls ReloadCertificate) and
// when the files change (checked hourly by their size and modification
// time). A reload that fails keeps the certificate being served. Each
// change of certificate, and a start with one other than the last
// recorded, is recorded in the audit log before it is served.

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/kaigi-meet/kaigi/internal/audit"
	"github.com/kaigi-meet/kaigi/internal/config"
	"github.com/kaigi-meet/kaigi/internal/store"
)

// certificateCheck is how often the files are looked at for a renewal.
const certificateCheck = time.Hour

// What noticed a certificate change (the audit entry's "trigger").
const (
	triggerStart  = "start"
	triggerReload = "reload"      // SIGHUP, ReloadCertificate
	triggerFiles  = "file change" // the hourly check
)

// certificates holds the served certificate and reloads it.
type certificates struct {
	certFile, keyFile string
	db                *store.SQLite
	log               *slog.Logger

	current atomic.Pointer[servedCert]

	mu sync.Mutex // one reload at a time; guards seen
	// seen is the files' size and modification time at the last load
	// that succeeded, so that the hourly check reads them only when they
	// changed (and retries one that failed).
	seen fileStamp

	stop context.CancelFunc
	done chan struct{}
}

// servedCert is a certificate as served, with what the log says of it.
type servedCert struct {
	cert        *tls.Certificate
	fingerprint string
}

// fileStamp is what the hourly check compares: the files' identity
// (a renewal that renames new files over the old ones), size and
// modification time.
type fileStamp struct {
	cert, key os.FileInfo
}

// same reports whether the files are as they were at s.
func (s fileStamp) same(o fileStamp) bool {
	unchanged := func(a, b os.FileInfo) bool {
		return a != nil && b != nil && os.SameFile(a, b) && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime())
	}
	return unchanged(s.cert, o.cert) && unchanged(s.key, o.key)
}

// loadCertificates loads the configured certificate, records it in the
// audit log if it is not the last one recorded there, and returns what
// serves it.
func loadCertificates(ctx context.Context, cfg config.TLS, db *store.SQLite, log *slog.Logger) (*certificates, error) {
	c := &certificates{certFile: cfg.CertFile, keyFile: cfg.KeyFile, db: db, log: log}
	stamp, err := c.stamp()
	if err != nil {
		return nil, err
	}
	next, err := c.read()
	if err != nil {
		return nil, err
	}
	last, found, err := db.LatestAudit(ctx, audit.CertificateChanged)
	if err != nil {
		return nil, fmt.Errorf("last recorded certificate: %w", err)
	}
	if !found || last.Details["new"] != next.fingerprint {
		if err := c.record(ctx, last.Details["new"], next, triggerStart); err != nil {
			return nil, err
		}
	}
	c.current.Store(next)
	c.seen = stamp
	log.Info("serving TLS", "cert_file", cfg.CertFile, "certificate_sha256", next.fingerprint, "not_after", next.cert.Leaf.NotAfter)
	return c, nil
}

// tlsConfig serves whichever certificate is current at each handshake.
func (c *certificates) tlsConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return c.current.Load().cert, nil
		},
	}
}

// watch checks the files every interval until stopped (close).
func (c *certificates) watch(interval time.Duration) {
	ctx, cancel := context.WithCancel(context.Background())
	c.stop, c.done = cancel, make(chan struct{})
	go func() {
		defer close(c.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				c.check(ctx)
			}
		}
	}()
}

// close stops the hourly check and waits for a reload in progress.
func (c *certificates) close() {
	if c.stop != nil {
		c.stop()
		<-c.done
	}
}

// check reloads the certificate if its files changed since the last load
// that succeeded.
func (c *certificates) check(ctx context.Context) {
	stamp, err := c.stamp()
	c.mu.Lock()
	same := err == nil && stamp.same(c.seen)
	c.mu.Unlock()
	if same {
		return
	}
	c.reload(ctx, triggerFiles)
}

// reload reads the files and, when they hold another certificate than
// the one served, records the change and serves it. On any failure the
// served certificate stays, and the error is logged and returned.
func (c *certificates) reload(ctx context.Context, trigger string) (changed bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	defer func() {
		if err != nil {
			c.log.Error("TLS certificate not reloaded; still serving the previous one", "trigger", trigger,
				"cert_file", c.certFile, "key_file", c.keyFile, "certificate_sha256", c.current.Load().fingerprint, "err", err)
		}
	}()
	stamp, err := c.stamp()
	if err != nil {
		return false, err
	}
	next, err := c.read()
	if err != nil {
		return false, err
	}
	old := c.current.Load()
	if next.fingerprint == old.fingerprint {
		c.seen = stamp
		c.log.Info("TLS certificate unchanged", "trigger", trigger, "certificate_sha256", old.fingerprint)
		return false, nil
	}
	if err := c.record(ctx, old.fingerprint, next, trigger); err != nil {
		return false, err
	}
	c.current.Store(next)
	c.seen = stamp
	c.log.Info("serving a new TLS certificate", "trigger", trigger, "cert_file", c.certFile,
		"certificate_sha256", next.fingerprint, "previous_sha256", old.fingerprint, "not_after", next.cert.Leaf.NotAfter)
	return true, nil
}

// read loads and checks the key pair.
func (c *certificates) read() (*servedCert, error) {
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return nil, fmt.Errorf("TLS certificate %s with key %s: %w", c.certFile, c.keyFile, err)
	}
	if cert.Leaf == nil {
		return nil, errors.New("tls: the certificate could not be parsed")
	}
	return &servedCert{cert: &cert, fingerprint: certFingerprint(cert)}, nil
}

// stamp is the files' sizes and modification times (of what symbolic
// links point to, as certbot's live/ directory has).
func (c *certificates) stamp() (fileStamp, error) {
	cf, err := os.Stat(c.certFile)
	if err != nil {
		return fileStamp{}, fmt.Errorf("tls: %w", err)
	}
	kf, err := os.Stat(c.keyFile)
	if err != nil {
		return fileStamp{}, fmt.Errorf("tls: %w", err)
	}
	return fileStamp{cert: cf, key: kf}, nil
}

// record appends the change to the audit log.
func (c *certificates) record(ctx context.Context, old string, next *servedCert, trigger string) error {
	leaf := next.cert.Leaf
	names := append([]string{}, leaf.DNSNames...)
	for _, ip := range leaf.IPAddresses {
		names = append(names, ip.String())
	}
	details := map[string]string{
		"new":      next.fingerprint,
		"notAfter": leaf.NotAfter.UTC().Format(time.RFC3339),
		"subject":  clip(leaf.Subject.String()),
		"names":    clip(strings.Join(names, ", ")),
		"trigger":  trigger,
	}
	if old != "" {
		details["old"] = old
	}
	_, err := c.db.AppendAudit(ctx, audit.Entry{Time: time.Now(), ActorKind: audit.ActorSystem,
		Action: audit.CertificateChanged, SubjectKind: audit.SubjectServer, Details: details})
	if err != nil {
		return fmt.Errorf("record the certificate change in the audit log: %w", err)
	}
	return nil
}

// clip keeps a detail within the audit log's limit, on a rune boundary.
func clip(s string) string {
	if len(s) <= audit.MaxDetailText {
		return s
	}
	const more = " …"
	cut := audit.MaxDetailText - len(more)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + more
}

// ReloadCertificate reads the TLS certificate and key files again and
// serves them from the next connection on if they hold another
// certificate (cmd/kaigi calls it on SIGHUP); on failure the previous one
// stays. It reports whether the certificate changed; without TLS it does
// nothing.
func (s *Server) ReloadCertificate(ctx context.Context) (bool, error) {
	if s.certs == nil {
		s.log.Info("no TLS certificate to reload: the server does not serve TLS")
		return false, nil
	}
	return s.certs.reload(ctx, triggerReload)
}
