package gemini

import (
	"strings"

	"github.com/switchyard/switchyard/internal/jsonstr"
	"github.com/switchyard/switchyard/providers"
)

// OpenAI clients match tool results to calls by id; Gemini matches them by function
// name and order, and older models send no call id at all. The ids given to clients
// are therefore Gemini's functionCall.id when it sends one, otherwise
// "call_" + a hash of (responseId, call index, name, compact arguments): stable, so that a
// stream and a retried translation of the same response name a call alike.
//
// Gemini 3 models also return an opaque thoughtSignature with their function calls
// and reject the next turn with a 400 unless it comes back on the same functionCall
// part (https://ai.google.dev/gemini-api/docs/thought-signatures). The only field an
// OpenAI client is sure to send back unchanged is the tool call id, so the signature
// travels inside it: "<id>~ts~<signature>". Signatures are base64, which never
// contains '~'.
const sigMarker = "~ts~"

// skipSignature is the value the thought-signatures guide gives for function calls
// whose signature is unknown (history written by another model or provider): it
// tells Gemini 3 to skip signature validation for that turn instead of failing it.
const skipSignature = "skip_thought_signature_validator"

// toolCallID is the OpenAI id of the index-th function call of a response.
func toolCallID(responseID string, index int, fc *functionCall, args, signature string) string {
	var b strings.Builder
	if fc.ID != "" {
		b.Grow(len(fc.ID) + len(sigMarker) + len(signature))
		b.WriteString(fc.ID)
	} else {
		h := fnvString(fnvOffset, responseID)
		h = fnvByte(h, byte(index))
		h = fnvByte(h, byte(index>>8))
		h = fnvString(h, fc.Name)
		h = fnvString(h, args)
		b.Grow(5 + 16 + len(sigMarker) + len(signature))
		b.WriteString("call_")
		for shift := 60; shift >= 0; shift -= 4 {
			b.WriteByte(hexDigits[(h>>uint(shift))&0xf])
		}
	}
	if signature != "" {
		b.WriteString(sigMarker)
		b.WriteString(signature)
	}
	return b.String()
}

// signatureOf returns the thought signature carried in a tool call id, if any.
func signatureOf(id string) string {
	_, sig, _ := strings.Cut(id, sigMarker)
	return sig
}

const hexDigits = "0123456789abcdef"

// FNV-1a, 64 bit (https://datatracker.ietf.org/doc/html/draft-eastlake-fnv), written
// out so that hashing allocates nothing.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func fnvByte(h uint64, c byte) uint64 { return (h ^ uint64(c)) * fnvPrime }

func fnvString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h = fnvByte(h, s[i])
	}
	return fnvByte(h, 0) // separator: ("ab","c") and ("a","bc") differ
}

// Gemini 3 may also sign a text part (the last part of an answer without function
// calls). Returning that signature is recommended, not required
// (https://ai.google.dev/gemini-api/docs/thought-signatures), and it has no slot
// in an OpenAI message but thinking_blocks: it travels there as a block whose
// signature is providers.GeminiSignature + the signature, which other providers
// leave out and this one puts back on the message's text part.

func textSignatureBlock(sig string) providers.ThinkingBlock {
	return providers.ThinkingBlock{Type: "thinking", Signature: providers.GeminiSignature + sig}
}

// textSignature is the Gemini text-part signature among a message's blocks.
func textSignature(blocks []providers.ThinkingBlock) string {
	for _, b := range blocks {
		if sig, ok := strings.CutPrefix(b.Signature, providers.GeminiSignature); ok && b.Type == "thinking" {
			return sig
		}
	}
	return ""
}

// noteTextSignature keeps a non-thought text part's signature for the next chunk.
func (s *stream) noteTextSignature(p *streamPart) error {
	if len(p.signature) == 0 || p.thought {
		return nil
	}
	sig, ok := jsonstr.Unescape(nil, p.signature)
	if !ok {
		return malformed(errMalformed)
	}
	s.textSig = string(sig)
	return nil
}
