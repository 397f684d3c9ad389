package bedrock

import (
	"errors"
	"io"

	"github.com/switchyard/switchyard/internal/jsonstr"
	"github.com/switchyard/switchyard/providers"
)

// The ConverseStream events (API_runtime_ConverseStreamOutput.html): messageStart,
// then per content block an optional contentBlockStart (tool use only), deltas
// and contentBlockStop, then messageStop with the stop reason and metadata with
// the usage, the terminal event. Exceptions (throttlingException,
// serviceUnavailableException, internalServerException,
// modelStreamErrorException, validationException) can replace any event.

// maxDrain bounds what is read after the terminal event so that the connection
// can be reused; Bedrock sends nothing more.
const maxDrain = 64 << 10

// stream is one ConverseStream response, translated to chat.completion.chunks.
// Everything happens on the goroutine that calls Recv: it reads one message,
// decodes it and translates it, with buffers of its own.
type stream struct {
	body   io.ReadCloser
	frames *frameReader
	dec    jsonDecoder
	f      frame
	ev     event
	// held says ev must be translated again: the role chunk went out in its
	// place because upstream skipped messageStart.
	held bool
	tr   translator
}

func newStream(body io.ReadCloser, model, jsonTool, id string, created int64) *stream {
	return &stream{body: body, frames: newFrameReader(body),
		tr: translator{enc: providers.NewStreamEncoder(id, model, created), jsonTool: jsonTool}}
}

func (s *stream) Recv() (providers.Chunk, error) {
	for {
		if s.tr.done {
			// Read the end of the body, so the connection goes back to the pool.
			_, _ = io.CopyN(io.Discard, s.body, maxDrain)
			return providers.Chunk{}, io.EOF
		}
		if !s.held {
			if err := s.read(); err != nil {
				return providers.Chunk{}, err
			}
		}
		s.held = false
		chunk, st, err := s.tr.translate(&s.ev)
		switch {
		case err != nil:
			return providers.Chunk{}, err
		case st == stepRepeat:
			s.held = true
			return chunk, nil
		case st == stepEmit:
			return chunk, nil
		}
	}
}

// read reads and decodes the next event; an exception or error message, or the
// end of the body before the terminal event, is the stream's error.
func (s *stream) read() error {
	if err := readEvent(s.frames, &s.f); err != nil {
		return err
	}
	if err := s.dec.decode(s.f.eventType, s.f.payload, &s.ev); err != nil {
		return malformed(s.f.eventType, err)
	}
	return nil
}

// readEvent reads the next message into f and returns nil when it is an event;
// an exception or error message, a corrupt frame, or the end of the body (every
// Bedrock stream ends with its terminal event, read by the caller) is the
// stream's error.
func readEvent(frames *frameReader, f *frame) error {
	if err := frames.next(f); err != nil {
		switch {
		case err == io.EOF, err == io.ErrUnexpectedEOF:
			// The body ended before the terminal event, between messages or
			// inside one.
			return &providers.Error{Class: providers.ClassConnection, Err: providers.ErrTruncated,
				Message: providers.ErrTruncated.Error()}
		case errors.Is(err, errFrameChecksum), errors.Is(err, errFrameLength), errors.Is(err, errFrameHeaders):
			// Corrupted in transit, or not an event stream: the bytes cannot be
			// trusted, though another attempt may fare better.
			return &providers.Error{Class: providers.ClassConnection, Err: err, Message: "Bedrock's event stream is corrupt: " + err.Error()}
		}
		return providers.AsError(err) // reset, canceled, deadline
	}
	switch string(f.messageType) {
	case "event":
		return nil
	case "exception":
		return streamException(string(f.exceptionType), f.payload)
	case "error":
		return streamError(string(f.errorCode), string(f.errorMessage))
	}
	return &providers.Error{Class: providers.ClassDecode,
		Message: "Bedrock sent an event-stream message of unknown type " + string(f.messageType)}
}

// Close releases the connection.
func (s *stream) Close() error {
	_ = s.body.Close() // its error is the stream's, already reported by Recv
	return nil
}

type step uint8

const (
	stepSkip   step = iota // the event yields no chunk
	stepEmit               // the chunk translates the event
	stepRepeat             // the chunk goes first; translate the event again
)

// maxToolBlocks bounds the tool-use blocks a stream may open; a real answer has
// a handful, and the bound keeps a hostile stream from growing memory.
const maxToolBlocks = 4096

// translator turns ConverseStream events into chunks. It is pure: no I/O, so the
// tests feed it recorded events and the benchmark measures it alone.
type translator struct {
	enc      *providers.StreamEncoder
	jsonTool string
	roleSent bool
	done     bool // metadata seen
	// OpenAI numbers tool calls 0, 1, 2...; Bedrock's contentBlockIndex also counts
	// text blocks, so each tool-use block gets the next OpenAI index when it opens.
	nextTool int
	blocks   []toolBlock
	usage    providers.Usage
	details  providers.PromptTokensDetails
	// hideReasoning leaves reasoning_content out (Call.HideReasoning).
	hideReasoning bool
	// thinking is the reasoning block being streamed, sent whole when it stops.
	thinking      *providers.ThinkingBuilder
	thinkingIndex int
}

type toolBlock struct {
	block int // Bedrock's contentBlockIndex
	tool  int // OpenAI's index; -1 for the synthetic json_schema tool, whose input is text
}

func (t *translator) translate(ev *event) (providers.Chunk, step, error) {
	if !t.roleSent {
		t.roleSent = true
		if ev.kind == evMessageStart {
			return providers.Chunk{Data: t.enc.Role()}, stepEmit, nil
		}
		return providers.Chunk{Data: t.enc.Role()}, stepRepeat, nil
	}
	switch ev.kind {
	case evBlockStart:
		if !ev.toolUse {
			return providers.Chunk{}, stepSkip, nil
		}
		if len(t.blocks) >= maxToolBlocks {
			return providers.Chunk{}, stepSkip, &providers.Error{Class: providers.ClassDecode,
				Message: "Bedrock opened too many tool-use blocks"}
		}
		if t.jsonTool != "" && ev.toolName == t.jsonTool {
			t.blocks = append(t.blocks, toolBlock{block: ev.index, tool: -1})
			return providers.Chunk{}, stepSkip, nil
		}
		tool := t.nextTool
		t.nextTool++
		t.blocks = append(t.blocks, toolBlock{block: ev.index, tool: tool})
		return providers.Chunk{Data: t.enc.ToolCallStart(tool, ev.toolUseID, ev.toolName)}, stepEmit, nil
	case evDelta:
		if ev.reasoning {
			return t.reasoning(ev)
		}
		if len(ev.text) == 0 {
			return providers.Chunk{}, stepSkip, nil // empty text, citations
		}
		if !ev.toolInput {
			return providers.Chunk{Data: t.enc.Text(jsonstr.View(ev.text))}, stepEmit, nil
		}
		tool, ok := t.tool(ev.index)
		if !ok {
			return providers.Chunk{}, stepSkip, &providers.Error{Class: providers.ClassDecode,
				Message: "Bedrock streamed tool input for a content block that never started"}
		}
		if tool < 0 {
			return providers.Chunk{Data: t.enc.Text(jsonstr.View(ev.text))}, stepEmit, nil
		}
		return providers.Chunk{Data: t.enc.ToolCallArgs(tool, jsonstr.View(ev.text))}, stepEmit, nil
	case evBlockStop:
		return t.reasoningStop(ev.index)
	case evMessageStop:
		finish, err := finishReason(ev.stopReason, t.nextTool > 0)
		if err != nil {
			return providers.Chunk{}, stepSkip, err
		}
		return providers.Chunk{Data: t.enc.Finish(finish)}, stepEmit, nil
	case evMetadata:
		t.done = true
		prompt, completion, details := usageCounts(ev.usage)
		// The usage lives in the translator, so the chunk's Usage costs nothing.
		t.details = details
		t.usage = providers.Usage{PromptTokens: prompt, CompletionTokens: completion,
			TotalTokens: prompt + completion, PromptTokensDetails: &t.details}
		return providers.Chunk{Data: t.enc.Usage(t.usage), Usage: &t.usage, UsageOnly: true}, stepEmit, nil
	}
	return providers.Chunk{}, stepSkip, nil // messageStart again, contentBlockStop, unknown events
}

func (t *translator) tool(block int) (int, bool) {
	for i := len(t.blocks) - 1; i >= 0; i-- {
		if t.blocks[i].block == block {
			return t.blocks[i].tool, true
		}
	}
	return 0, false
}
