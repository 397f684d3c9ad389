package scrub

import (
	"fmt"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Core wraps a zap core so that every entry it writes is scrubbed by the holder's
// scrubber in force: the message and every string, byte string, error and Stringer
// field (those added with Logger.With are scrubbed when added). Objects and arrays
// are written as they are: Switchyard logs none that carry foreign text.
func Core(core zapcore.Core, h *Holder) zapcore.Core {
	return &scrubCore{Core: core, h: h}
}

type scrubCore struct {
	zapcore.Core
	h *Holder
}

func (c *scrubCore) With(fields []zapcore.Field) zapcore.Core {
	return &scrubCore{Core: c.Core.With(c.fields(fields)), h: c.h}
}

// Check registers this core, not the wrapped one, so that Write scrubs.
func (c *scrubCore) Check(ent zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(ent.Level) {
		return ce.AddCore(ent, c)
	}
	return ce
}

func (c *scrubCore) Write(ent zapcore.Entry, fields []zapcore.Field) error {
	sc := c.h.Load()
	if !sc.Empty() {
		ent.Message = sc.String(ent.Message)
	}
	return c.Core.Write(ent, c.fields(fields))
}

// fields returns fields scrubbed, copying the slice only when a field changes.
func (c *scrubCore) fields(fields []zapcore.Field) []zapcore.Field {
	sc := c.h.Load()
	if sc.Empty() {
		return fields
	}
	out := fields
	copied := false
	set := func(i int, f zapcore.Field) {
		if !copied {
			out = append([]zapcore.Field(nil), fields...)
			copied = true
		}
		out[i] = f
	}
	for i, f := range fields {
		switch f.Type {
		case zapcore.StringType:
			if s := sc.String(f.String); s != f.String {
				set(i, zap.String(f.Key, s))
			}
		case zapcore.ByteStringType:
			b, _ := f.Interface.([]byte)
			if s := sc.String(string(b)); s != string(b) {
				set(i, zap.String(f.Key, s))
			}
		case zapcore.ErrorType:
			if err, ok := f.Interface.(error); ok && err != nil {
				set(i, zap.String(f.Key, sc.String(err.Error())))
			}
		case zapcore.StringerType:
			if st, ok := f.Interface.(fmt.Stringer); ok {
				set(i, zap.Stringer(f.Key, scrubbedStringer{st, sc}))
			}
		}
	}
	return out
}

// scrubbedStringer defers String to encoding time, where zap recovers a panicking
// Stringer (a nil pointer) as it would have without scrubbing.
type scrubbedStringer struct {
	st fmt.Stringer
	sc *Scrubber
}

func (s scrubbedStringer) String() string { return s.sc.String(s.st.String()) }
