package openai

import (
	"github.com/switchyard/switchyard/internal/jsonfield"
	"github.com/switchyard/switchyard/providers"
)

var includeUsage = []byte(`{"include_usage":true}`)

// rewriteChat returns the client's body with the target's model and, for streams,
// stream_options.include_usage set, so that every stream reports usage for accounting.
// Everything else, including fields this proxy does not know, is forwarded untouched,
// without a copy (see providers.Request.Rewrite).
func rewriteChat(r *providers.Request, model string) (providers.Body, error) {
	set := []providers.Member{{Field: providers.FieldModel, Value: providers.AppendJSONString(nil, model)}}
	if r.Stream && !r.IncludeUsage {
		opts := r.Value(providers.FieldStreamOptions)
		if len(opts) > 0 && opts[0] == '{' {
			var err error
			if opts, err = jsonfield.Set(opts, "include_usage", []byte("true")); err != nil {
				return nil, providers.InvalidRequest("stream_options", "Invalid 'stream_options'.")
			}
		} else {
			opts = includeUsage
		}
		set = append(set, providers.Member{Field: providers.FieldStreamOptions, Value: opts})
	}
	return r.Rewrite(set...), nil
}

func rewriteModel(body []byte, model string) ([]byte, error) {
	out, err := jsonfield.Set(body, "model", providers.AppendJSONString(nil, model))
	if err != nil {
		return nil, providers.InvalidRequest("", "The request body must be a JSON object.")
	}
	return out, nil
}
