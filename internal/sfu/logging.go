package sfu

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/pion/logging"
)

// pionLogs routes pion's logs into slog, tagged with pion's scope. pion's
// errors are mostly about connections already closing, so they are logged
// at Info; its warnings and information at Debug; its own debug and trace
// messages not at all.
//
// pion asks for a logger per scope per object: about twenty for every
// PeerConnection (ICE agent, DTLS, SRTP, each interceptor...), kept as
// long as the connection. So a logger is only the shared slog.Logger and
// the scope, and the "pion" attribute is added when a message is logged,
// which is rare; slog.Logger.With would build and keep a handler (with
// the attribute already formatted) per logger, about 2 KiB of heap a
// subscriber, for messages that are mostly never logged.
type pionLogs struct{ log *slog.Logger }

func (f pionLogs) NewLogger(scope string) logging.LeveledLogger {
	return &pionLogger{log: f.log, scope: scope}
}

type pionLogger struct {
	log   *slog.Logger
	scope string
}

// at logs msg with the scope as the "pion" attribute, where With would
// have put it: after the shared logger's own attributes.
func (l *pionLogger) at(level slog.Level, msg string) {
	l.log.Log(context.Background(), level, msg, "pion", l.scope)
}

// pion's own trace and debug messages are dropped: they are of use only
// when debugging pion, and formatting some of them (OnTrack's, which
// prints a track pion is still filling in) is a data race inside pion.
func (l *pionLogger) Trace(msg string)                  {}
func (l *pionLogger) Tracef(format string, args ...any) {}
func (l *pionLogger) Debug(msg string)                  {}
func (l *pionLogger) Debugf(format string, args ...any) {}
func (l *pionLogger) Info(msg string)                   { l.at(slog.LevelDebug, msg) }
func (l *pionLogger) Infof(format string, args ...any) {
	if l.log.Enabled(context.Background(), slog.LevelDebug) {
		l.at(slog.LevelDebug, fmt.Sprintf(format, args...))
	}
}
func (l *pionLogger) Warn(msg string)                  { l.at(slog.LevelDebug, msg) }
func (l *pionLogger) Warnf(format string, args ...any) { l.Infof(format, args...) }
func (l *pionLogger) Error(msg string)                 { l.at(slog.LevelInfo, msg) }
func (l *pionLogger) Errorf(format string, args ...any) {
	l.at(slog.LevelInfo, fmt.Sprintf(format, args...))
}
