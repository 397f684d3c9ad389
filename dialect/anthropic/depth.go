package anthropic

import (
	"bytes"

	"github.com/switchyard/switchyard/internal/jsonfield"
)

// maxContentDepth bounds how deep content blocks may hold content blocks. Only
// tool results and search results hold any (a turn's tool result's search
// result's text is three levels down), but nothing else stops a client from
// nesting them 5,000 deep (JSON's limit is 10,000). Every walker of content
// reads a level again for each level above it, so such a body costs its size
// times its depth: 2 MB nested 5,000 deep took two seconds to estimate and as
// long to decode. Deeper content is refused (decode) or not walked (the
// estimate, chatBody), so that reading a body costs at most this many passes.
const maxContentDepth = 8

// contentTooDeep reports whether content (a string or blocks) holds blocks
// nested more than maxContentDepth - depth levels below it; it reads at most
// that many. A member that encoding/json could take for "content" (any case, or
// escaped) counts as content.
func contentTooDeep(content []byte, depth int) bool {
	if len(content) == 0 || content[0] != '[' {
		return false
	}
	if depth >= maxContentDepth {
		return true
	}
	deep := false
	_ = jsonfield.EachElement(content, func(blk []byte) bool {
		_ = jsonfield.Each(blk, func(k, v []byte) bool {
			deep = mayBeContent(k) && contentTooDeep(v, depth+1)
			return !deep
		})
		return !deep
	})
	return deep
}

// mayBeContent reports whether a raw member name may decode to a name
// encoding/json matches with "content".
func mayBeContent(k []byte) bool {
	return bytes.EqualFold(k, []byte("content")) || bytes.IndexByte(k, '\\') >= 0
}
