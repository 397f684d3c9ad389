package openai

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf8"

	"github.com/switchyard/switchyard/internal/jsonfield"
	"github.com/switchyard/switchyard/internal/jsonscan"
	"github.com/switchyard/switchyard/providers"
)

// decodeUsage reads the usage and model of a chat completion or embeddings list
// without decoding the rest of the document into memory. It returns what
// encoding/json would decode into {Model string; Usage *providers.Usage}, error
// included (FuzzDecodeUsage holds it to that), at a third of the cost: the document is
// validated in one pass, its members found in place, and the usage read without
// reflection. Anything unusual (a key with escapes or in another case, a repeated
// member, a number that is not a plain integer) goes to encoding/json itself.
func decodeUsage(body []byte) (providers.Usage, string, error) {
	if !jsonscan.Valid(body) {
		return decodeUsageSlow(body) // encoding/json says what is wrong
	}
	var usage, model []byte
	fast := true
	err := jsonfield.Each(body, func(k, v []byte) bool {
		switch string(k) {
		case "usage":
			fast = usage == nil
			usage = v
		case "model":
			fast = model == nil
			model = v
		default:
			fast = !looseMatch(k, "usage") && !looseMatch(k, "model")
		}
		return fast
	})
	if err != nil || !fast {
		return decodeUsageSlow(body)
	}
	var name string
	switch {
	case model == nil || string(model) == "null":
	case len(model) >= 2 && model[0] == '"' && bytes.IndexByte(model, '\\') < 0 && utf8.Valid(model):
		name = string(model[1 : len(model)-1])
	default:
		return decodeUsageSlow(body) // escapes, invalid UTF-8 (replaced), or not a string (an error)
	}
	if usage == nil || string(usage) == "null" {
		return providers.Usage{}, name, nil
	}
	u, ok := scanUsage(usage)
	if !ok {
		return decodeUsageSlow(body)
	}
	return u, name, nil
}

func decodeUsageSlow(body []byte) (providers.Usage, string, error) {
	var doc struct {
		Model string           `json:"model"`
		Usage *providers.Usage `json:"usage"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return providers.Usage{}, "", err
	}
	if doc.Usage == nil {
		return providers.Usage{}, doc.Model, nil
	}
	return *doc.Usage, doc.Model, nil
}

// looseMatch reports whether encoding/json could take key for name although it is
// not name byte for byte: it matches keys case-insensitively, after unescaping.
func looseMatch(key []byte, name string) bool {
	return bytes.IndexByte(key, '\\') >= 0 || bytes.EqualFold(key, []byte(name))
}

// scanUsage reads a usage object of valid JSON the way encoding/json would into
// providers.Usage; ok is false for anything it does not handle alike (then
// encoding/json must decide).
func scanUsage(v []byte) (u providers.Usage, ok bool) {
	if len(v) == 0 || v[0] != '{' {
		return u, false
	}
	var seen [5]bool
	ok = true
	err := jsonfield.Each(v, func(k, val []byte) bool {
		i := -1
		switch string(k) {
		case "prompt_tokens":
			i, ok = 0, plainInt(val, &u.PromptTokens)
		case "completion_tokens":
			i, ok = 1, plainInt(val, &u.CompletionTokens)
		case "total_tokens":
			i, ok = 2, plainInt(val, &u.TotalTokens)
		case "prompt_tokens_details":
			i = 3
			var d providers.PromptTokensDetails
			if ok = detail(val, "cached_tokens", &d.CachedTokens); ok {
				u.PromptTokensDetails = &d
			}
		case "completion_tokens_details":
			i = 4
			var d providers.CompletionTokensDetails
			if ok = detail(val, "reasoning_tokens", &d.ReasoningTokens); ok {
				u.CompletionTokensDetails = &d
			}
		default:
			ok = bytes.IndexByte(k, '\\') < 0 && !foldsToField(k)
		}
		if i >= 0 {
			ok = ok && !seen[i]
			seen[i] = true
		}
		return ok
	})
	return u, ok && err == nil
}

var usageFields = []string{"prompt_tokens", "completion_tokens", "total_tokens", "prompt_tokens_details", "completion_tokens_details"}

func foldsToField(k []byte) bool {
	for _, f := range usageFields {
		if bytes.EqualFold(k, []byte(f)) {
			return true
		}
	}
	return false
}

// detail reads a details object holding one integer member we keep; ok is false
// for null (encoding/json leaves the pointer nil) and anything irregular.
func detail(v []byte, name string, dst *int) bool {
	if len(v) == 0 || v[0] != '{' {
		return false
	}
	ok, seen := true, false
	err := jsonfield.Each(v, func(k, val []byte) bool {
		switch {
		case string(k) == name:
			ok = !seen && plainInt(val, dst)
			seen = true
		default:
			ok = bytes.IndexByte(k, '\\') < 0 && !bytes.EqualFold(k, []byte(name))
		}
		return ok
	})
	return ok && err == nil
}

// plainInt parses an integer written without fraction or exponent, which is what
// encoding/json accepts for an int; anything else (null included) is left to it.
func plainInt(v []byte, dst *int) bool {
	if len(v) == 0 || (v[0] != '-' && (v[0] < '0' || v[0] > '9')) {
		return false
	}
	n, err := strconv.Atoi(string(v))
	if err != nil {
		return false
	}
	*dst = n
	return true
}
