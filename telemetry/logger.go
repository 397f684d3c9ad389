package telemetry

import (
	"fmt"
	"io"
	"os"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// AccessLogger names the logger of the access log, whose info lines may wait in
// the buffer (see NewLogger).
const AccessLogger = "access"

// logBufferSize bounds the lines held between flushes: a line longer than what
// is left flushes the buffer first.
const logBufferSize = 256 << 10

// NewLogger builds the process logger writing to stderr: JSON lines by default,
// human-readable console output for `switchyard demo`.
//
// With flush > 0, info lines of the access log wait in a buffer that is written
// at least every flush: one write system call per request was the largest cost
// of a small request beyond the proxying itself. Every other line (startup,
// reloads, warnings, errors, audit) is written at once, after whatever waits,
// so the log keeps its order and nothing but access lines is ever late. stop
// writes what waits; call it before the process exits.
func NewLogger(level, format string, flush time.Duration) (log *zap.Logger, stop func(), err error) {
	return newLogger(os.Stderr, level, format, flush)
}

func newLogger(w io.Writer, level, format string, flush time.Duration) (*zap.Logger, func(), error) {
	lvl, err := zapcore.ParseLevel(level)
	if err != nil {
		return nil, nil, fmt.Errorf("log level: %w", err)
	}
	var enc zapcore.Encoder
	opts := []zap.Option{zap.AddCaller(), zap.ErrorOutput(zapcore.Lock(zapcore.AddSync(os.Stderr)))}
	switch format {
	case "", "json":
		ec := zap.NewProductionEncoderConfig()
		ec.TimeKey = "ts"
		ec.EncodeTime = zapcore.ISO8601TimeEncoder
		enc = zapcore.NewJSONEncoder(ec)
		opts = append(opts, zap.AddStacktrace(zapcore.ErrorLevel))
	case "console":
		ec := zap.NewDevelopmentEncoderConfig()
		ec.EncodeLevel = zapcore.CapitalColorLevelEncoder
		enc = zapcore.NewConsoleEncoder(ec)
	default:
		return nil, nil, fmt.Errorf("log format %q: want json or console", format)
	}
	// No sampling: the access log has its own (log.access_sampling), and errors
	// must never be dropped.
	if flush <= 0 {
		core := zapcore.NewCore(enc, zapcore.Lock(zapcore.AddSync(w)), lvl)
		return zap.New(core, opts...), func() {}, nil
	}
	// AddSync: Sync on the buffer writes it out; an fsync of stderr is not wanted.
	buf := &zapcore.BufferedWriteSyncer{WS: zapcore.AddSync(w), Size: logBufferSize, FlushInterval: flush}
	core := flushingCore{Core: zapcore.NewCore(enc, buf, lvl), buf: buf}
	return zap.New(core, opts...), func() { _ = buf.Stop() }, nil
}

// flushingCore writes out the buffer after every line but the access log's info
// lines.
type flushingCore struct {
	zapcore.Core
	buf *zapcore.BufferedWriteSyncer
}

func (c flushingCore) With(fields []zapcore.Field) zapcore.Core {
	return flushingCore{Core: c.Core.With(fields), buf: c.buf}
}

// Check registers this core, not the wrapped one, so that Write flushes.
func (c flushingCore) Check(ent zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(ent.Level) {
		return ce.AddCore(ent, c)
	}
	return ce
}

func (c flushingCore) Write(ent zapcore.Entry, fields []zapcore.Field) error {
	err := c.Core.Write(ent, fields)
	if ent.Level > zapcore.InfoLevel || ent.LoggerName != AccessLogger {
		if serr := c.buf.Sync(); err == nil {
			err = serr
		}
	}
	return err
}
