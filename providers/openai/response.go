package openai

import (
	"encoding/json"

	"github.com/switchyard/switchyard/providers"
)

// decodeUsage reads the usage and model of a chat completion or embeddings list
// without decoding the rest of the document into memory.
func decodeUsage(body []byte) (providers.Usage, string, error) {
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
