package openai

import (
	"encoding/json"

	"github.com/switchyard/switchyard/internal/jsonfield"
	"github.com/switchyard/switchyard/providers"
)

var includeUsage = []byte(`{"include_usage":true}`)

// rewriteChat returns the client's body with the target's model and, for streams,
// stream_options.include_usage set, so that every stream reports usage for accounting.
// Everything else, including fields this proxy does not know, is forwarded untouched.
func rewriteChat(r *providers.Request, model string) ([]byte, error) {
	body, err := rewriteModel(r.Body, model)
	if err != nil || !r.Stream || r.IncludeUsage {
		return body, err
	}
	opts, err := jsonfield.Get(body, "stream_options")
	if err != nil {
		return nil, err
	}
	if len(opts) > 0 && opts[0] == '{' {
		if opts, err = jsonfield.Set(opts, "include_usage", []byte("true")); err != nil {
			return nil, providers.InvalidRequest("stream_options", "Invalid 'stream_options'.")
		}
		return jsonfield.Set(body, "stream_options", opts)
	}
	return jsonfield.Set(body, "stream_options", includeUsage)
}

func rewriteModel(body []byte, model string) ([]byte, error) {
	quoted, err := json.Marshal(model)
	if err != nil {
		return nil, err
	}
	out, err := jsonfield.Set(body, "model", quoted)
	if err != nil {
		return nil, providers.InvalidRequest("", "The request body must be a JSON object.")
	}
	return out, nil
}
