package responses

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
)

// Id prefixes, as OpenAI uses them. Function call outputs have no documented prefix;
// "fco_" is what OpenAI's own input_items listings show.
const (
	prefixResponse   = "resp_"
	prefixMessage    = "msg_"
	prefixCall       = "fc_"
	prefixCallOutput = "fco_"
	prefixCallID     = "call_"
	prefixReasoning  = "rs_"
)

// idBytes is the randomness of every id: 192 bits, well above the 128 bits that make
// a response id unguessable (an id is the only handle on a stored conversation, next
// to its owner check). Hex keeps ids within OpenAI's documented alphabet (letters,
// digits, underscores, dashes) and at OpenAI's length.
const idBytes = 24

// NewResponseID returns a fresh "resp_…" id.
func NewResponseID() string { return newID(prefixResponse) }

func newID(prefix string) string {
	var b [idBytes]byte
	// crypto/rand.Read never fails: since Go 1.24 it crashes the program instead.
	_, _ = rand.Read(b[:])
	out := make([]byte, 0, len(prefix)+2*idBytes)
	out = append(out, prefix...)
	return string(hex.AppendEncode(out, b[:]))
}

// newItemID is the id of an item of response responseID: the prefix, the
// response id's random part, then randomness of its own. An item reference (and a
// reasoning item sent back by id) thus names the stored response that holds it,
// which is read under the same ownership check as previous_response_id.
func newItemID(prefix, responseID string) string {
	h, ok := strings.CutPrefix(responseID, prefixResponse)
	if !ok || len(h) != 2*idBytes {
		return newID(prefix)
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	out := make([]byte, 0, len(prefix)+len(h)+8)
	out = append(append(out, prefix...), h...)
	return string(hex.AppendEncode(out, b[:]))
}

// responseOfItem is the id of the response an item id was minted for, if it was
// minted by newItemID.
func responseOfItem(id string) (string, bool) {
	for _, p := range []string{prefixMessage, prefixCall, prefixCallOutput, prefixReasoning} {
		rest, ok := strings.CutPrefix(id, p)
		if !ok || len(rest) < 2*idBytes {
			continue
		}
		h := rest[:2*idBytes]
		if _, err := hex.DecodeString(h); err != nil {
			continue
		}
		return prefixResponse + h, true
	}
	return "", false
}

// validID reports whether id can name a stored response: the prefix and OpenAI's
// alphabet, bounded in length. Anything else is simply not found; it never reaches
// the store as a key.
func validID(id string) bool {
	if len(id) <= len(prefixResponse) || len(id) > 128 || id[:len(prefixResponse)] != prefixResponse {
		return false
	}
	for i := len(prefixResponse); i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
