package providers

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestReadSized(t *testing.T) {
	for _, tc := range []struct {
		body   string
		length int64
	}{
		{"", 0}, {"", -1}, {"hello", 5}, {"hello", -1}, {"hello", 2}, {"hello", 1 << 40},
	} {
		got, err := ReadSized(strings.NewReader(tc.body), tc.length, 1<<20)
		if err != nil || got == nil || string(got) != tc.body {
			t.Errorf("ReadSized(%q, %d) = %q, %v; want the body, never nil", tc.body, tc.length, got, err)
		}
	}
}

func TestReadResponseLimit(t *testing.T) {
	resp := func(body string) *http.Response {
		return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body))}
	}
	if got, err := ReadResponse(resp("0123456789"), 10); err != nil || string(got) != "0123456789" {
		t.Fatalf("at the limit: %q, %v", got, err)
	}
	for _, over := range []*http.Response{resp("0123456789A"), {StatusCode: 200, ContentLength: -1,
		Body: io.NopCloser(strings.NewReader("0123456789A"))}} {
		_, err := ReadResponse(over, 10)
		if e := AsError(err); err == nil || e.Class != ClassLocal || e.Class.HealthFailure() ||
			!strings.Contains(e.Message, "max_response_bytes") {
			t.Fatalf("over the limit: %v, want a local failure naming max_response_bytes", err)
		}
	}
}

// TestAnnouncedOversizeNotRead: a Content-Length over the limit is refused before
// a byte of the body is read.
func TestAnnouncedOversizeNotRead(t *testing.T) {
	body := &countingReader{r: strings.NewReader(strings.Repeat("x", 100))}
	_, err := ReadResponse(&http.Response{StatusCode: 200, ContentLength: 100, Body: io.NopCloser(body)}, 10)
	if AsError(err).Class != ClassLocal || body.n != 0 {
		t.Fatalf("got %v after reading %d bytes", err, body.n)
	}
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestResponseLimit(t *testing.T) {
	if l := ResponseLimit(0); l.Chat() != DefaultMaxResponseBytes || l.Embeddings() != 8*DefaultMaxResponseBytes {
		t.Errorf("default limits %d, %d", l.Chat(), l.Embeddings())
	}
	if l := ResponseLimit(1000); l.Chat() != 1000 || l.Embeddings() != 8000 {
		t.Errorf("limits %d, %d", l.Chat(), l.Embeddings())
	}
}

// A client that announces a large body and sends little holds memory for what it
// sent, not for what it announced; an honest body lands in a buffer of its size.
func TestReadSizedMemoryFollowsBytes(t *testing.T) {
	got, err := ReadSized(strings.NewReader("{"), 8<<20, 8<<20)
	if err != nil || string(got) != "{" {
		t.Fatalf("short body: %q, %v", got, err)
	}
	if cap(got) > firstRead {
		t.Errorf("announced 8 MiB, sent 1 byte: buffer of %d bytes, want at most %d", cap(got), firstRead)
	}
	for _, n := range []int{1, firstRead - 1, firstRead, firstRead + 1, 400 << 10, 3 << 20} {
		body := strings.Repeat("x", n)
		got, err := ReadSized(iotestOneByteEvery(strings.NewReader(body), 4093), int64(n), 8<<20)
		if err != nil || string(got) != body {
			t.Fatalf("%d bytes: got %d bytes, %v", n, len(got), err)
		}
		if cap(got) != n {
			t.Errorf("%d bytes announced and sent: buffer of %d bytes, want exactly %d", n, cap(got), n)
		}
	}
	// Announced shorter, or longer, than what arrives: everything is read.
	for _, length := range []int64{10, 70 << 10, 1 << 20} {
		body := strings.Repeat("y", 100<<10)
		got, err := ReadSized(strings.NewReader(body), length, 8<<20)
		if err != nil || string(got) != body {
			t.Errorf("announced %d, sent %d: got %d bytes, %v", length, len(body), len(got), err)
		}
	}
}

// iotestOneByteEvery returns reads of at most n bytes, as a slow client's would.
func iotestOneByteEvery(r io.Reader, n int) io.Reader { return &shortReader{r: r, n: n} }

type shortReader struct {
	r io.Reader
	n int
}

func (s *shortReader) Read(p []byte) (int, error) {
	if len(p) > s.n {
		p = p[:s.n]
	}
	return s.r.Read(p)
}
