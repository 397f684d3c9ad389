package keyring

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
)

// SecretPrefix starts every secret issued at run time, so that secret scanners
// and people recognise a Switchyard key.
const SecretPrefix = "sk-sy-"

const (
	base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	// secretChars of base62 carry 256 bits (43 × log2(62) ≈ 256.03).
	secretChars = 43
	// shownChars of the random part are shown after the prefix: enough to tell keys
	// apart in a list, 36 of the 256 bits.
	shownChars = 6
)

// newSecret returns a fresh secret. Each character is drawn by rejection sampling
// (bytes of 248 and above are redrawn), so all 62 are equally likely.
func newSecret() string {
	out := make([]byte, 0, len(SecretPrefix)+secretChars)
	out = append(out, SecretPrefix...)
	var buf [64]byte
	for len(out) < cap(out) {
		_, _ = rand.Read(buf[:]) // never fails: crypto/rand aborts the program instead
		for _, b := range buf {
			if b < 248 && len(out) < cap(out) {
				out = append(out, base62[b%62])
			}
		}
	}
	return string(out)
}

// Digest is what the index and the store keep of a secret.
type Digest = [sha256.Size]byte

// digestOf hashes a presented token or a new secret. A token of up to 64 bytes is
// copied to the stack first: converting it in place would allocate beyond 32 bytes,
// and a runtime secret has 49.
func digestOf(secret string) Digest {
	var buf [64]byte
	if len(secret) <= len(buf) {
		return sha256.Sum256(buf[:copy(buf[:], secret)])
	}
	return sha256.Sum256([]byte(secret))
}

func digestHex(secret string) string {
	d := digestOf(secret)
	return hex.EncodeToString(d[:])
}

// shown is the part of a secret that may be displayed again.
func shown(secret string) string { return secret[:len(SecretPrefix)+shownChars] }
