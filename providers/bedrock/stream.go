package bedrock

import (
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/switchyard/switchyard/providers"
)

// The ConverseStream events (API_runtime_ConverseStreamOutput.html): messageStart,
// then per content block an optional contentBlockStart (tool use only), deltas
// and contentBlockStop, then messageStop with the stop reason and metadata with
// the usage, the terminal event. Exceptions (throttlingException,
// serviceUnavailableException, internalServerException,
// modelStreamErrorException, validationException) can replace any event; the
// SDK's event stream reader turns them into typed errors.

// stream is one ConverseStream response, translated to chat.completion.chunks. It
// reads the events the SDK's reader decodes (one decoder per stream, on the
// reader's goroutine) and translates each without allocating.
type stream struct {
	es     *bedrockruntime.ConverseStreamEventStream
	events <-chan types.ConverseStreamOutput
	// held is an event that must be translated again: the role chunk went out in
	// its place because upstream skipped messageStart.
	held types.ConverseStreamOutput
	tr   translator
}

func newStream(es *bedrockruntime.ConverseStreamEventStream, model, jsonTool, id string, created int64) *stream {
	return &stream{es: es, events: es.Events(), tr: translator{enc: providers.NewStreamEncoder(id, model, created), jsonTool: jsonTool}}
}

func (s *stream) Recv() (providers.Chunk, error) {
	for {
		if s.tr.done {
			return providers.Chunk{}, io.EOF
		}
		ev := s.held
		s.held = nil
		if ev == nil {
			var ok bool
			if ev, ok = <-s.events; !ok {
				if err := s.es.Err(); err != nil {
					return providers.Chunk{}, classify(err)
				}
				// The reader treats a body that ends, even mid-message, as the end
				// of the stream: only the missing terminal event tells.
				return providers.Chunk{}, &providers.Error{Class: providers.ClassConnection,
					Err: providers.ErrTruncated, Message: providers.ErrTruncated.Error()}
			}
		}
		chunk, st, err := s.tr.translate(ev)
		switch {
		case err != nil:
			return providers.Chunk{}, err
		case st == stepRepeat:
			s.held = ev
			return chunk, nil
		case st == stepEmit:
			return chunk, nil
		}
	}
}

// Close releases the connection; the reader's goroutines end with it.
func (s *stream) Close() error {
	_ = s.es.Close() // its error is the stream's, already reported by Recv
	return nil
}

type step uint8

const (
	stepSkip   step = iota // the event yields no chunk
	stepEmit               // the chunk translates the event
	stepRepeat             // the chunk goes first; translate the event again
)

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
}

type toolBlock struct {
	block int32 // Bedrock's contentBlockIndex
	tool  int   // OpenAI's index; -1 for the synthetic json_schema tool, whose input is text
}

func (t *translator) translate(ev types.ConverseStreamOutput) (providers.Chunk, step, error) {
	if _, start := ev.(*types.ConverseStreamOutputMemberMessageStart); !t.roleSent {
		t.roleSent = true
		if start {
			return providers.Chunk{Data: t.enc.Role()}, stepEmit, nil
		}
		return providers.Chunk{Data: t.enc.Role()}, stepRepeat, nil
	}
	switch v := ev.(type) {
	case *types.ConverseStreamOutputMemberContentBlockStart:
		start, ok := v.Value.Start.(*types.ContentBlockStartMemberToolUse)
		if !ok {
			return providers.Chunk{}, stepSkip, nil
		}
		name := aws.ToString(start.Value.Name)
		idx := aws.ToInt32(v.Value.ContentBlockIndex)
		if t.jsonTool != "" && name == t.jsonTool {
			t.blocks = append(t.blocks, toolBlock{block: idx, tool: -1})
			return providers.Chunk{}, stepSkip, nil
		}
		tool := t.nextTool
		t.nextTool++
		t.blocks = append(t.blocks, toolBlock{block: idx, tool: tool})
		return providers.Chunk{Data: t.enc.ToolCallStart(tool, aws.ToString(start.Value.ToolUseId), name)}, stepEmit, nil
	case *types.ConverseStreamOutputMemberContentBlockDelta:
		switch d := v.Value.Delta.(type) {
		case *types.ContentBlockDeltaMemberText:
			if d.Value == "" {
				return providers.Chunk{}, stepSkip, nil
			}
			return providers.Chunk{Data: t.enc.Text(d.Value)}, stepEmit, nil
		case *types.ContentBlockDeltaMemberToolUse:
			frag := aws.ToString(d.Value.Input)
			if frag == "" {
				return providers.Chunk{}, stepSkip, nil
			}
			tool, ok := t.tool(aws.ToInt32(v.Value.ContentBlockIndex))
			if !ok {
				return providers.Chunk{}, stepSkip, &providers.Error{Class: providers.ClassInternal,
					Message: "Bedrock streamed tool input for a content block that never started"}
			}
			if tool < 0 {
				return providers.Chunk{Data: t.enc.Text(frag)}, stepEmit, nil
			}
			return providers.Chunk{Data: t.enc.ToolCallArgs(tool, frag)}, stepEmit, nil
		}
		return providers.Chunk{}, stepSkip, nil // reasoning, citations: no chat.completion field
	case *types.ConverseStreamOutputMemberMessageStop:
		finish, err := finishReason(v.Value.StopReason, t.nextTool > 0)
		if err != nil {
			return providers.Chunk{}, stepSkip, err
		}
		return providers.Chunk{Data: t.enc.Finish(finish)}, stepEmit, nil
	case *types.ConverseStreamOutputMemberMetadata:
		t.done = true
		prompt, completion, cached := usageCounts(v.Value.Usage)
		// The usage lives in the translator, so the chunk's Usage costs nothing.
		t.details = providers.PromptTokensDetails{CachedTokens: cached}
		t.usage = providers.Usage{PromptTokens: prompt, CompletionTokens: completion,
			TotalTokens: prompt + completion, PromptTokensDetails: &t.details}
		return providers.Chunk{Data: t.enc.Usage(t.usage), Usage: &t.usage, UsageOnly: true}, stepEmit, nil
	}
	return providers.Chunk{}, stepSkip, nil // messageStart again, contentBlockStop, unknown events
}

func (t *translator) tool(block int32) (int, bool) {
	for i := len(t.blocks) - 1; i >= 0; i-- {
		if t.blocks[i].block == block {
			return t.blocks[i].tool, true
		}
	}
	return 0, false
}
