package bedrock

import (
	"encoding/json"
	"math"
	"strconv"

	"github.com/switchyard/switchyard/providers"
)

// settings are the members of a Converse body after messages and system, each
// omitted when unset. The JSON names are the wire's (wire.go lists the pages
// they were checked against); append writes them by hand, in this order.
type settings struct {
	InferenceConfig *inferenceConfig `json:"inferenceConfig,omitempty"`
	ToolConfig      *toolConfig      `json:"toolConfig,omitempty"`
	OutputConfig    *outputConfig    `json:"outputConfig,omitempty"`
	// AdditionalModelRequestFields carries a model's own parameters, a JSON
	// object: Claude's thinking, Nova 2's reasoningConfig, gpt-oss's
	// reasoning_effort (reasoning.go).
	AdditionalModelRequestFields json.RawMessage `json:"additionalModelRequestFields,omitempty"`
}

// append writes the settings as members of the enclosing object, each after a
// comma.
func (s *settings) append(b []byte) []byte {
	if ic := s.InferenceConfig; ic != nil {
		b = append(b, `,"inferenceConfig":`...)
		b = ic.append(b)
	}
	if tc := s.ToolConfig; tc != nil {
		b = append(b, `,"toolConfig":`...)
		b = tc.append(b)
	}
	if oc := s.OutputConfig; oc != nil {
		b = append(b, `,"outputConfig":{`...)
		if oc.Effort != "" {
			b = append(b, `"effort":`...)
			b = providers.AppendJSONString(b, oc.Effort)
		}
		b = append(b, '}')
	}
	if f := s.AdditionalModelRequestFields; len(f) > 0 {
		b = append(b, `,"additionalModelRequestFields":`...)
		b = appendCompact(b, f)
	}
	return b
}

func (c *inferenceConfig) append(b []byte) []byte {
	b = append(b, '{')
	n := len(b)
	sep := func(name string) {
		if len(b) > n {
			b = append(b, ',')
		}
		b = append(b, name...)
	}
	if c.MaxTokens != nil {
		sep(`"maxTokens":`)
		b = strconv.AppendInt(b, int64(*c.MaxTokens), 10)
	}
	if c.Temperature != nil {
		sep(`"temperature":`)
		b = appendFloat(b, *c.Temperature)
	}
	if c.TopP != nil {
		sep(`"topP":`)
		b = appendFloat(b, *c.TopP)
	}
	if len(c.StopSequences) > 0 {
		sep(`"stopSequences":[`)
		for i, s := range c.StopSequences {
			if i > 0 {
				b = append(b, ',')
			}
			b = providers.AppendJSONString(b, s)
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

// appendFloat writes a float64 as encoding/json does: the shortest decimal that
// reads back the same, in exponent form below 1e-6 and from 1e21, the exponent
// without leading zeros. Decoded JSON numbers are always finite.
func appendFloat(b []byte, f float64) []byte {
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// e-09 → e-9
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

func (c *toolConfig) append(b []byte) []byte {
	b = append(b, `{"tools":[`...)
	for i, t := range c.Tools {
		if i > 0 {
			b = append(b, ',')
		}
		if t.CachePoint != nil {
			b = append(b, `{"cachePoint":{"type":`...)
			b = providers.AppendJSONString(b, t.CachePoint.Type)
			if t.CachePoint.TTL != "" {
				b = append(b, `,"ttl":`...)
				b = providers.AppendJSONString(b, t.CachePoint.TTL)
			}
			b = append(b, "}}"...)
			continue
		}
		s := t.ToolSpec
		b = append(b, `{"toolSpec":{"name":`...)
		b = providers.AppendJSONString(b, s.Name)
		if s.Description != "" {
			b = append(b, `,"description":`...)
			b = providers.AppendJSONString(b, s.Description)
		}
		b = append(b, `,"inputSchema":{"json":`...)
		b = appendCompact(b, s.InputSchema.JSON)
		b = append(b, "}}}"...)
	}
	b = append(b, ']')
	switch tc := c.ToolChoice; {
	case tc == nil:
	case tc.Tool != nil:
		b = append(b, `,"toolChoice":{"tool":{"name":`...)
		b = providers.AppendJSONString(b, tc.Tool.Name)
		b = append(b, "}}"...)
	case tc.Any != nil:
		b = append(b, `,"toolChoice":{"any":{}}`...)
	}
	return append(b, '}')
}
