package openai

import (
	"encoding/json"
	"io"

	"github.com/switchyard/switchyard/executor"
	"github.com/switchyard/switchyard/providers"
)

var (
	dataPrefix = []byte("data: ")
	eventEnd   = []byte("\n\n")
	doneEvent  = []byte("data: [DONE]\n\n")
)

// chatSink writes chat.completion.chunk events, drops the usage chunk unless the
// client asked for it, and ends with data: [DONE].
type chatSink struct{ includeUsage bool }

func (c chatSink) Chunk(w io.Writer, ch providers.Chunk) error {
	if ch.UsageOnly && !c.includeUsage {
		return nil
	}
	return writeData(w, ch.Data)
}

func (chatSink) Done(w io.Writer) error {
	_, err := w.Write(doneEvent)
	return err
}

func (chatSink) Fail(w io.Writer, e *providers.Error) error {
	body, _ := json.Marshal(streamErrorDoc(e))
	return writeData(w, body)
}

// writeData writes one SSE data event without copying data.
func writeData(w io.Writer, data []byte) error {
	if _, err := w.Write(dataPrefix); err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		return err
	}
	_, err := w.Write(eventEnd)
	return err
}

// streamErrorDoc is the error event that ends a failed stream; OpenAI SDKs raise it
// as an error ("received error while streaming").
func streamErrorDoc(e *providers.Error) errorDoc {
	code := "upstream_error"
	if e.Class == providers.ClassTimeout {
		code = "upstream_timeout"
	}
	return docOf(&executor.Error{Type: "server_error", Code: code,
		Message: "The upstream failed while streaming: " + executor.Describe(e)})
}
