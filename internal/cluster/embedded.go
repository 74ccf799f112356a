package cluster

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// EmbeddedOptions configure a NATS server run inside this process.
type EmbeddedOptions struct {
	// Name is the server's name (the node ID).
	Name string
	// StoreDir holds JetStream's files (created, mode 0700).
	StoreDir string
	// Listen, if set, is a host:port on which the server also accepts
	// clients (port 0: a free one), with a token (Embedded.Token) written
	// to StoreDir/token. Empty: no port at all, in-process connections
	// only.
	Listen string
	// Logger receives the server's notices (at debug), warnings and
	// errors.
	Logger *slog.Logger
}

// Embedded is a NATS server with JetStream running in this process.
type Embedded struct {
	ns    *server.Server
	token string
}

// Limits of the embedded server's JetStream: the buckets hold a record a
// node and one a live meeting, far below these.
const (
	embeddedMaxMemory = 64 << 20
	embeddedMaxStore  = 1 << 30
)

// StartEmbedded starts a NATS server with JetStream in this process and
// waits until it takes connections.
func StartEmbedded(o EmbeddedOptions) (*Embedded, error) {
	if err := os.MkdirAll(o.StoreDir, 0o700); err != nil {
		return nil, fmt.Errorf("nats store: %w", err)
	}
	opts := &server.Options{
		ServerName:             o.Name,
		DontListen:             true,
		JetStream:              true,
		StoreDir:               o.StoreDir,
		JetStreamMaxMemory:     embeddedMaxMemory,
		JetStreamMaxStore:      embeddedMaxStore,
		NoSigs:                 true,
		DisableJetStreamBanner: true,
		MaxPayload:             64 << 10,
	}
	e := &Embedded{}
	if o.Listen != "" {
		host, port, err := net.SplitHostPort(o.Listen)
		if err != nil {
			return nil, fmt.Errorf("nats listen: %w", err)
		}
		p, err := strconv.Atoi(port)
		if err != nil || p < 0 || p > 65535 {
			return nil, fmt.Errorf("nats listen: %q is not a port", port)
		}
		if p == 0 {
			p = server.RANDOM_PORT
		}
		opts.DontListen, opts.Host, opts.Port = false, host, p
		if e.token, err = listenToken(o.StoreDir); err != nil {
			return nil, err
		}
		opts.Authorization = e.token
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("nats server: %w", err)
	}
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	ns.SetLoggerV2(natsLogger{log.With("component", "nats")}, false, false, false)
	ns.Start()
	if !ns.ReadyForConnections(30 * time.Second) {
		ns.Shutdown()
		return nil, errors.New("nats server: not ready after 30s")
	}
	e.ns = ns
	return e, nil
}

// listenToken reads or creates the token that clients of a listening
// embedded server present (kept in the store, mode 0600).
func listenToken(dir string) (string, error) {
	path := filepath.Join(dir, "token")
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) >= 32 {
		return strings.TrimSpace(string(b)), nil
	}
	buf := make([]byte, 24)
	if _, err := rand.Read(buf); err != nil {
		return "", err
	}
	tok := hex.EncodeToString(buf)
	if err := os.WriteFile(path, []byte(tok+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("nats token: %w", err)
	}
	return tok, nil
}

// ClientURL is where clients connect when the server listens, or "".
func (e *Embedded) ClientURL() string {
	if e.ns.Addr() == nil {
		return ""
	}
	return e.ns.ClientURL()
}

// Token is what clients of a listening server present (nats.Token), or
// "" when it does not listen.
func (e *Embedded) Token() string { return e.token }

// Listening reports whether the server accepts connections on a socket.
func (e *Embedded) Listening() bool { return e.ns.Addr() != nil }

// Connect opens an in-process connection (no socket) to the server.
func (e *Embedded) Connect(opts ...nats.Option) (*nats.Conn, error) {
	opts = append(opts, nats.InProcessServer(e.ns))
	if e.token != "" {
		opts = append(opts, nats.Token(e.token))
	}
	return nats.Connect("", opts...)
}

// Close stops the server and waits until it has.
func (e *Embedded) Close() {
	e.ns.Shutdown()
	e.ns.WaitForShutdown()
}

// natsLogger passes the NATS server's log to slog: notices at debug (it
// is chatty at start), warnings and errors as they are; debug and trace
// are off.
type natsLogger struct{ log *slog.Logger }

func (l natsLogger) Noticef(format string, v ...any) { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l natsLogger) Warnf(format string, v ...any)   { l.log.Warn(fmt.Sprintf(format, v...)) }
func (l natsLogger) Fatalf(format string, v ...any)  { l.log.Error(fmt.Sprintf(format, v...)) }
func (l natsLogger) Errorf(format string, v ...any)  { l.log.Error(fmt.Sprintf(format, v...)) }
func (l natsLogger) Debugf(format string, v ...any)  { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l natsLogger) Tracef(string, ...any)           {}
