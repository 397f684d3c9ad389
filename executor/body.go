package executor

import (
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/switchyard/switchyard/providers"
)

// ReadBody reads the request body within max_body_bytes and
// client_timeouts.read_body. Its memory follows the bytes received, not the
// Content-Length announced.
func (rec *Record) ReadBody(w http.ResponseWriter) ([]byte, *Error) {
	return rec.readBody(w, false)
}

// BorrowBody is ReadBody for a handler that keeps no slice of the body past the
// request's end, nor past Run.Relay: a large body is read into a pooled buffer,
// lent until then (see providers.Lease). Its upstream requests and hedged
// attempts hold it while they read it.
func (rec *Record) BorrowBody(w http.ResponseWriter) ([]byte, *Error) {
	// Logged bodies are read at the request's end, after a stream's commit.
	return rec.readBody(w, !rec.snap.Config.Log.Bodies)
}

func (rec *Record) readBody(w http.ResponseWriter, borrow bool) ([]byte, *Error) {
	cfg := rec.snap.Config
	limit, timeout := cfg.MaxBodyBytes, cfg.ClientTimeouts.ReadBody
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(timeout))
	r := http.MaxBytesReader(w, rec.r.Body, limit)
	var body []byte
	var err error
	if borrow {
		body, rec.lease, err = providers.ReadLeased(r, rec.r.ContentLength, limit)
	} else {
		body, err = providers.ReadSized(r, rec.r.ContentLength, limit)
	}
	if err != nil {
		var tooLarge *http.MaxBytesError
		var ne net.Error
		switch {
		case errors.As(err, &tooLarge):
			return nil, Errorf(http.StatusRequestEntityTooLarge, "invalid_request_error", "request_too_large", "",
				"Request body exceeds the limit of %d bytes.", limit)
		case errors.As(err, &ne) && ne.Timeout():
			// The deadline stays: net/http's discard of the unread body before the
			// error answer must not wait on the client either.
			return nil, Errorf(http.StatusRequestTimeout, "invalid_request_error", "request_timeout", "",
				"The request body did not arrive within %s.", timeout)
		}
		return nil, Errorf(http.StatusBadRequest, "invalid_request_error", "", "", "Could not read the request body.")
	}
	// Cleared at once: a deadline left on the connection would cancel the request
	// when the server's background read hits it, mid-stream.
	_ = rc.SetReadDeadline(time.Time{})
	if cfg.Log.Bodies {
		rec.ReqBody = body
	}
	return body, nil
}

// BodyLease is the lease of the body BorrowBody lent, nil when it was not lent.
// What a handler writes from the body may be attached to it (Lease.Attach), to
// be held as long as the body is, by the same holders.
func (rec *Record) BodyLease() *providers.Lease { return rec.lease }

// returnBody lets go of the request's hold on a lent body.
func (rec *Record) returnBody() {
	if l := rec.lease; l != nil {
		rec.lease = nil
		l.Release()
	}
}

// Snapshot is the configuration the request is served under.
func (rec *Record) Snapshot() *Snapshot { return rec.snap }
