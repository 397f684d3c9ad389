package openai

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"

	"github.com/switchyard/switchyard/internal/jsonfield"
	"github.com/switchyard/switchyard/internal/jsonscan"
	"github.com/switchyard/switchyard/providers"
	"github.com/switchyard/switchyard/providers/sse"
)

var doneMarker = []byte("[DONE]")

// stream relays an upstream chat.completion.chunk stream. Chunks are handed out as
// the upstream sent them; only the usage chunk is decoded.
type stream struct {
	body io.ReadCloser
	r    *sse.Reader
}

func newStream(body io.ReadCloser) *stream {
	return &stream{body: body, r: sse.NewReader(body)}
}

func (s *stream) Recv() (providers.Chunk, error) {
	ev, err := s.r.Next()
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return providers.Chunk{}, &providers.Error{Class: providers.ClassConnection, Err: providers.ErrTruncated,
				Message: providers.ErrTruncated.Error()}
		}
		return providers.Chunk{}, providers.AsError(err)
	}
	return parseChunk(ev.Data)
}

// parseChunk classifies one event's data: the terminal [DONE], an error event, or a
// chunk, decoding usage when the chunk carries it. A chunk that is not valid JSON,
// or not a chat.completion.chunk, is a decode failure: relayed, it would break the
// client's parser in the middle of an answer that looked successful.
func parseChunk(data []byte) (providers.Chunk, error) {
	if bytes.Equal(data, doneMarker) {
		return providers.Chunk{}, io.EOF
	}
	if !jsonscan.Valid(data) {
		return providers.Chunk{}, &providers.Error{Class: providers.ClassDecode,
			Message: "upstream sent a stream event that is not valid JSON"}
	}
	chunk := providers.Chunk{Data: data}
	var usage, choices, errVal, object []byte
	err := jsonfield.Each(data, func(key, v []byte) bool {
		switch string(key) {
		case "usage":
			usage = v
		case "choices":
			choices = v
		case "error":
			errVal = v
		case "object":
			object = v
		}
		return true
	})
	if err != nil {
		return providers.Chunk{}, &providers.Error{Class: providers.ClassDecode, Err: err,
			Message: "upstream sent a malformed stream event"}
	}
	if len(errVal) > 0 && errVal[0] == '{' {
		return providers.Chunk{}, streamError(data)
	}
	if err := chunkShape.verify(choices, object); err != nil {
		return providers.Chunk{}, &providers.Error{Class: providers.ClassDecode, Err: err,
			Message: "upstream sent " + err.Error()}
	}
	if len(usage) > 0 && usage[0] == '{' {
		var u providers.Usage
		if err := json.Unmarshal(usage, &u); err != nil {
			return providers.Chunk{}, &providers.Error{Class: providers.ClassDecode, Err: err,
				Message: "upstream sent malformed usage"}
		}
		chunk.Usage = &u
		chunk.UsageOnly = isEmptyArray(choices)
	}
	return chunk, nil
}

// streamError classifies an error event sent after the stream began: OpenAI sends
// {"error":{"message":..., "type":"server_error"}}. Without an HTTP status the type
// and code decide; anything unknown is an upstream failure, not the caller's.
func streamError(data []byte) *providers.Error {
	e := parseError(0, data)
	switch {
	case e.Code == "rate_limit_exceeded" || e.Type == "rate_limit_error":
		e.Class = providers.ClassRateLimited
	case e.Class == providers.ClassContextLength || e.Class == providers.ClassContentFilter:
	default:
		e.Class = providers.ClassUnavailable
	}
	return e
}

func isEmptyArray(v []byte) bool {
	v = bytes.TrimSpace(v)
	return len(v) >= 2 && v[0] == '[' && len(bytes.TrimSpace(v[1:len(v)-1])) == 0
}

func (s *stream) Close() error { return s.body.Close() }
