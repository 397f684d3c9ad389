package providers

import (
	"bytes"
	"io"
	"net/http"
)

// ReadSized reads r to its end. When the length is announced (a Content-Length
// within limit) the body lands in one buffer of that size, where io.ReadAll would
// grow and copy its way up to it. An empty body is returned as empty, not nil.
func ReadSized(r io.Reader, length, limit int64) ([]byte, error) {
	var buf bytes.Buffer
	if length > 0 && length <= limit {
		buf.Grow(int(length) + bytes.MinRead) // + the read that sees EOF
	}
	_, err := buf.ReadFrom(r)
	if buf.Len() == 0 {
		return []byte{}, err
	}
	return buf.Bytes(), err
}

// ReadResponse reads and closes a buffered upstream response of at most limit bytes.
func ReadResponse(resp *http.Response, limit int64) ([]byte, error) {
	defer resp.Body.Close()
	body, err := ReadSized(io.LimitReader(resp.Body, limit+1), resp.ContentLength, limit)
	if err != nil {
		return nil, AsError(err)
	}
	if int64(len(body)) > limit {
		return nil, &Error{Class: ClassInternal, Status: resp.StatusCode, Message: "upstream response too large"}
	}
	return body, nil
}
