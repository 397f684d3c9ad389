package anthropic

import (
	"bytes"
	"encoding/json"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/switchyard/switchyard/internal/jsonfield"
	"github.com/switchyard/switchyard/internal/jsonstr"
)

// Reading the blocks of a Messages body as written, for chatBody: each member
// spelled once and plainly, as quickBlock takes them, and strings checked for
// what copying them raw would change.

// rawBlock is a content block's members as written (raw JSON values).
type rawBlock struct {
	typ, text, source, id, name, input, toolUseID, content, isError, thinking, signature, data, cacheControl []byte
}

// readBlock reads a block of an array of blocks depth levels below a turn's
// content (0: the turn's own blocks).
func readBlock(b *rawBlock, obj []byte, depth int) bool {
	return readBlockAt(b, obj, 0, depth) >= 0
}

// readBlockAt is readBlock of the block that starts at src[at]; it returns the
// index just past it, or -1.
func readBlockAt(b *rawBlock, src []byte, at, depth int) int {
	if src[at] != '{' {
		return -1
	}
	var citations, title []byte
	taken := true
	end, err := jsonfield.EachAt(src, at, func(k []byte, vi int) int {
		var dst *[]byte
		str := true
		switch string(k) {
		case "type":
			dst = &b.typ
		case "text":
			dst = &b.text
		case "title":
			dst = &title
		case "id":
			dst = &b.id
		case "name":
			dst = &b.name
		case "tool_use_id":
			dst = &b.toolUseID
		case "thinking":
			dst = &b.thinking
		case "signature":
			dst = &b.signature
		case "data":
			dst = &b.data
		case "citations":
			dst, str = &citations, false
		case "input":
			dst, str = &b.input, false
		case "source":
			dst, str = &b.source, false
		case "cache_control":
			dst, str = &b.cacheControl, false
		case "is_error":
			dst, str = &b.isError, false
		case "content":
			dst, str = &b.content, false
		default:
			taken = false
			return -1
		}
		e, ok := jsonfield.SkipAt(src, vi)
		if !ok {
			taken = false
			return -1
		}
		v := src[vi:e]
		taken = *dst == nil && string(v) != "null" && (!str || v[0] == '"')
		*dst = v
		if !taken {
			return -1
		}
		return e
	})
	if err != nil || !taken {
		return -1
	}
	// What decode would refuse is refused wherever it is, also in a member the
	// block's type does not use.
	var cc CacheControl
	switch {
	case b.isError != nil && string(b.isError) != "true" && string(b.isError) != "false",
		b.content != nil && !validContent(b.content, depth+1),
		b.source != nil && !validSource(b.source),
		b.cacheControl != nil && (b.cacheControl[0] != '{' || json.Unmarshal(b.cacheControl, &cc) != nil):
		return -1
	}
	return end
}

// validContent reports whether a block's content, depth levels below a turn's,
// is a string or blocks this reader takes, nested no deeper than
// maxContentDepth.
func validContent(v []byte, depth int) bool {
	if v[0] == '"' {
		return true
	}
	if v[0] != '[' || depth >= maxContentDepth {
		return false
	}
	ok := true
	err := jsonfield.EachElement(v, func(el []byte) bool {
		var b rawBlock
		ok = readBlock(&b, el, depth)
		return ok
	})
	return err == nil && ok
}

func validSource(v []byte) bool {
	if v[0] != '{' {
		return false
	}
	_, _, _, _, ok := source(v)
	return ok
}

// source reads an image's or a document's source: its members spelled once
// and plainly, each a string.
func source(obj []byte) (typ, mediaType, data, url []byte, ok bool) {
	var fileID []byte
	ok = true
	err := jsonfield.Each(obj, func(k, v []byte) bool {
		var dst *[]byte
		switch string(k) {
		case "type":
			dst = &typ
		case "media_type":
			dst = &mediaType
		case "data":
			dst = &data
		case "url":
			dst = &url
		case "file_id":
			dst = &fileID
		default:
			ok = false
			return false
		}
		ok = *dst == nil && v[0] == '"'
		*dst = v
		return ok
	})
	return typ, mediaType, data, url, err == nil && ok
}

// rawText is the contents of the JSON string v, when copying them as written
// means what decoding and encoding them again would: valid UTF-8 (encoding/json
// decodes other bytes as U+FFFD) and no unpaired surrogate escape (decoded as
// U+FFFD too). v is a string of a body jsonscan validated. When that pass saw no
// \u escape in the conversation, there is no surrogate to search for: agents'
// histories are mostly such, and the search cost 0.18 ms in 400 KB.
func (w *chatWriter) rawText(v []byte) ([]byte, bool) {
	if len(v) < 2 || v[0] != '"' {
		return nil, false
	}
	s := v[1 : len(v)-1]
	if !utf8.Valid(s) {
		return nil, false
	}
	if w.noUnicodeEscape || !bytes.Contains(s, []byte(`\u`)) {
		return s, true // no \u escape, so no surrogate
	}
	for j := 0; ; {
		k := bytes.IndexByte(s[j:], '\\')
		if k < 0 {
			return s, true
		}
		i := j + k
		if s[i+1] != 'u' {
			j = i + 2
			continue
		}
		r, _ := jsonstr.Hex4(s[i+2:])
		j = i + 6
		if !utf16.IsSurrogate(r) {
			continue
		}
		if r >= 0xdc00 || j+6 > len(s) || s[j] != '\\' || s[j+1] != 'u' {
			return nil, false
		}
		if lo, _ := jsonstr.Hex4(s[j+2:]); lo < 0xdc00 || lo > 0xdfff {
			return nil, false
		}
		j += 6
	}
}
