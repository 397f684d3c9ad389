package anthropic

import (
	"bytes"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/switchyard/switchyard/internal/jsonfield"
	"github.com/switchyard/switchyard/internal/jsonstr"
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

// refuseContent refuses, before decode walks it, a system prompt or a turn
// whose content nests deeper than maxContentDepth, or that has a member (of a
// turn, a block, a block's source or cache_control) whose name is a declared
// one written in another case or with escapes. encoding/json, and so every
// translation, reads "Content" or "t\u0065xt" as the member it declares; the
// estimate behind rate limits and budgets, chatBody and Anthropic read names
// as written. Without the refusal a tenant could send a translated target a
// 400 KB turn that admission counted as empty. The top level's members are
// refused the same way (members.go).
func refuseContent(name string, v []byte) error {
	switch name {
	case "system":
		if f := checkContent(v, 0); f != nil {
			return f.err("system")
		}
	case "messages":
		i := 0
		var f *flaw
		_ = jsonfield.EachElement(v, func(m []byte) bool {
			_ = jsonfield.Each(m, func(k, c []byte) bool {
				if f = misspelt(k, messageNames); f == nil && string(k) == "content" {
					f = checkContent(c, 0)
				}
				return f == nil
			})
			if f == nil {
				i++
			}
			return f == nil
		})
		if f != nil {
			return f.err("messages." + strconv.Itoa(i))
		}
	}
	return nil
}

// A flaw is why refuseContent refuses: too deep, or a name read two ways.
type flaw struct {
	deep    bool
	raw     []byte // the name as written
	of      string // the declared name it reads as
	escaped bool
}

func (f *flaw) err(where string) *Error {
	switch {
	case f.deep:
		return invalid("%s: content blocks may be nested at most %d deep", where, maxContentDepth)
	case f.escaped:
		return invalid(`%s: "%s" is "%s" written with escapes; member names must be written without escapes`, where, quoteName(f.raw), f.of)
	}
	return invalid(`%s: "%s" is not "%s"; member names are case-sensitive`, where, quoteName(f.raw), f.of)
}

// checkContent checks content (a string, or blocks depth levels down) and
// everything it holds; it reads at most maxContentDepth - depth levels.
func checkContent(content []byte, depth int) *flaw {
	if len(content) == 0 || content[0] != '[' {
		return nil
	}
	if depth >= maxContentDepth {
		return &flaw{deep: true}
	}
	var f *flaw
	_ = jsonfield.EachElement(content, func(blk []byte) bool {
		_ = jsonfield.Each(blk, func(k, v []byte) bool {
			if f = misspelt(k, blockNames); f != nil {
				return false
			}
			switch string(k) {
			case "content":
				f = checkContent(v, depth+1)
			case "source":
				f = checkNames(v, sourceNames)
			case "cache_control":
				f = checkNames(v, cacheControlNames)
			}
			return f == nil
		})
		return f == nil
	})
	return f
}

// checkNames checks the member names of obj (anything else passes).
func checkNames(obj []byte, names []string) *flaw {
	var f *flaw
	_ = jsonfield.Each(obj, func(k, _ []byte) bool {
		f = misspelt(k, names)
		return f == nil
	})
	return f
}

// misspelt reports a raw member name that encoding/json reads as one of
// names without being written so; a name it reads as none passes.
func misspelt(k []byte, names []string) *flaw {
	for _, n := range names {
		if string(k) == n {
			return nil
		}
	}
	name, escaped := k, bytes.IndexByte(k, '\\') >= 0
	if escaped {
		var ok bool
		if name, ok = jsonstr.Unescape(nil, k); !ok {
			return nil
		}
	}
	ascii := isASCII(name)
	for _, n := range names {
		if (!ascii || len(name) == len(n)) && bytes.EqualFold(name, []byte(n)) {
			return &flaw{raw: k, of: n, escaped: escaped}
		}
	}
	return nil
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// The member names encoding/json decodes in a turn, a block, a source and a
// cache_control.
var (
	messageNames      = jsonNames[MessageParam]()
	blockNames        = jsonNames[Block]()
	sourceNames       = jsonNames[Source]()
	cacheControlNames = jsonNames[CacheControl]()
)

func jsonNames[T any]() []string {
	t := reflect.TypeFor[T]()
	var names []string
	for i := range t.NumField() {
		if name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ","); name != "" && name != "-" {
			names = append(names, name)
		}
	}
	return names
}
