package sfu

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/pion/logging"
)

// pionLogs routes pion's logs into slog, tagged with pion's scope. pion's
// errors are mostly about connections already closing, so they are logged
// at Info; everything below at Debug.
type pionLogs struct{ log *slog.Logger }

func (f pionLogs) NewLogger(scope string) logging.LeveledLogger {
	return pionLogger{log: f.log.With("pion", scope)}
}

type pionLogger struct{ log *slog.Logger }

func (l pionLogger) at(level slog.Level, msg string) {
	l.log.Log(context.Background(), level, msg)
}

func (l pionLogger) Trace(msg string)                  {}
func (l pionLogger) Tracef(format string, args ...any) {}
func (l pionLogger) Debug(msg string)                  { l.at(slog.LevelDebug, msg) }
func (l pionLogger) Debugf(format string, args ...any) {
	if l.log.Enabled(context.Background(), slog.LevelDebug) {
		l.at(slog.LevelDebug, fmt.Sprintf(format, args...))
	}
}
func (l pionLogger) Info(msg string) { l.at(slog.LevelDebug, msg) }
func (l pionLogger) Infof(format string, args ...any) {
	l.Debugf(format, args...)
}
func (l pionLogger) Warn(msg string)                  { l.at(slog.LevelDebug, msg) }
func (l pionLogger) Warnf(format string, args ...any) { l.Debugf(format, args...) }
func (l pionLogger) Error(msg string)                 { l.at(slog.LevelInfo, msg) }
func (l pionLogger) Errorf(format string, args ...any) {
	l.at(slog.LevelInfo, fmt.Sprintf(format, args...))
}
