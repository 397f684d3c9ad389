package jsonscan

import (
	"bytes"
	"unicode/utf8"
)

// equalFold reports whether name matches the ASCII name w under encoding/json's case
// folding (Unicode simple folding: "ſ" U+017F folds to "s", "K" U+212A to "k").
func equalFold(name, w []byte) bool {
	if len(name) != len(w) && isASCII(name) {
		return false
	}
	return bytes.EqualFold(name, w)
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
