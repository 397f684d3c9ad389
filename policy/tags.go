package policy

import (
	"fmt"
	"slices"
	"strings"

	"github.com/switchyard/switchyard/providers"
)

// Limits of the tags a client sends (the X-Switchyard-Tags header and
// metadata.tags), for rules that match tags. Tags are the client's own claims;
// the limits only bound the work a request can cause.
const (
	// MaxTags is the number of distinct tags one request may carry.
	MaxTags = 32
	// MaxTagBytes is the length of one tag.
	MaxTagBytes = 64
	// MaxTagListBytes is the length of one comma-separated list (the header, or
	// metadata.tags).
	MaxTagListBytes = 4096
)

// ParseTags splits comma-separated tag lists into their distinct tags, trimmed,
// empty ones dropped, in order of first appearance. It runs in time linear in its
// input and never looks at more than MaxTagListBytes of a list: a list longer than
// that, a tag longer than MaxTagBytes, or more than MaxTags distinct tags is
// refused with a 400 (a *providers.Error of class InvalidRequest, code
// invalid_tags), never truncated, so that a rule never matches on part of a list.
func ParseTags(lists ...string) ([]string, error) {
	var out []string
	for _, l := range lists {
		if len(l) > MaxTagListBytes {
			return nil, tagsError("a tag list is %d bytes long; at most %d are allowed", len(l), MaxTagListBytes)
		}
		for l != "" {
			var t string
			t, l, _ = strings.Cut(l, ",")
			if t = strings.TrimSpace(t); t == "" || slices.Contains(out, t) { // out holds at most MaxTags
				continue
			}
			switch {
			case len(t) > MaxTagBytes:
				return nil, tagsError("a tag is %d bytes long; at most %d are allowed", len(t), MaxTagBytes)
			case len(out) == MaxTags:
				return nil, tagsError("more than %d distinct tags", MaxTags)
			}
			out = append(out, t)
		}
	}
	return out, nil
}

func tagsError(format string, args ...any) *providers.Error {
	e := providers.InvalidRequest("", "Invalid tags (X-Switchyard-Tags header and metadata.tags): "+fmt.Sprintf(format, args...)+".")
	e.Code = "invalid_tags"
	return e
}
