package bedrock

import (
	"encoding/json"
	"strconv"

	"github.com/switchyard/switchyard/providers"
)

// Reading the client's tool definitions in place, as encoding/json would decode
// them into []providers.Tool (names matched as it matches them, types checked),
// without its reflection: twenty tools with their schemas cost encoding/json a
// third of a millisecond. Parameters alias the body; a member repeated in one
// object is refused, as in the messages (turns.go).

var (
	toolFields     = []string{"type", "function", "cache_control"}
	toolFuncFields = []string{"name", "description", "parameters", "strict"}
)

// readTools reads the tools array v; none when v is absent (nil) or null.
func readTools(v []byte) ([]providers.Tool, error) {
	if len(v) == 0 || isNullValue(v) {
		return nil, nil
	}
	elems, ok := newArray(v)
	if !ok {
		return nil, providers.InvalidRequest("tools", "Invalid type for 'tools': expected an array.")
	}
	var tools []providers.Tool
	for i := 0; ; i++ {
		e, err := elems.next()
		if err != nil {
			return nil, providers.InvalidRequest("tools", "Invalid request: 'tools' is not valid JSON.")
		}
		if e == nil {
			return tools, nil
		}
		t, err := readTool(i, e)
		if err != nil {
			return nil, err
		}
		tools = append(tools, t)
	}
}

// readTool reads tools[i].
func readTool(i int, v []byte) (providers.Tool, error) {
	var t providers.Tool
	if isNullValue(v) {
		return t, nil
	}
	path := func(member string) string { return "tools[" + strconv.Itoa(i) + "]" + member }
	var seen uint
	err := members(path, "", v, toolFields, &seen, func(f int, val []byte) error {
		switch f {
		case 0:
			if !stringMember(val, &t.Type) {
				return toolTypeError(path(".type"), "a string")
			}
			return nil
		case 1:
			return readToolFunction(path, val, &t.Function)
		}
		var cc *providers.CacheControl
		if err := json.Unmarshal(val, &cc); err != nil {
			return toolTypeError(path(".cache_control"), "an object")
		}
		t.CacheControl = cc
		return nil
	})
	return t, err
}

// readToolFunction reads the function of a tool; path names the tool in errors.
func readToolFunction(path func(string) string, v []byte, fn *providers.Function) error {
	var seen uint
	return members(path, ".function", v, toolFuncFields, &seen, func(f int, val []byte) error {
		switch f {
		case 0, 1:
			s := &fn.Name
			if f == 1 {
				s = &fn.Description
			}
			if !stringMember(val, s) {
				return toolTypeError(path(".function."+toolFuncFields[f]), "a string")
			}
			return nil
		case 2:
			fn.Parameters = val // any JSON value, null included, as a RawMessage keeps it
			return nil
		}
		var b bool
		switch string(val) {
		case "null":
			return nil
		case "true":
			b = true
		case "false":
		default:
			return toolTypeError(path(".function.strict"), "a boolean")
		}
		fn.Strict = &b
		return nil
	})
}

// members calls fn with the index in fields and the value of each member of the
// object v that encoding/json would decode into one of fields; v is null or an
// object, path(at) names it in errors. seen records the fields met, to refuse
// one repeated.
func members(path func(string) string, at string, v []byte, fields []string, seen *uint, fn func(f int, val []byte) error) error {
	if isNullValue(v) {
		return nil
	}
	o, ok := newObject(v)
	if !ok {
		return toolTypeError(path(at), "an object")
	}
	for {
		name, val, err := o.next()
		if err != nil {
			return providers.InvalidRequest(path(at), "Invalid request: '"+path(at)+"' is not valid JSON.")
		}
		if name == nil {
			return nil
		}
		f := fieldOf(name, fields)
		if f < 0 {
			continue
		}
		if *seen&(1<<f) != 0 {
			p := path(at + "." + fields[f])
			err := providers.InvalidRequest(p, "Duplicate parameter '"+p+"': a member may appear only once in a JSON object.")
			err.Code = "ambiguous_parameter"
			return err
		}
		*seen |= 1 << f
		if err := fn(f, val); err != nil {
			return err
		}
	}
}

// stringMember decodes a string member into s; null leaves s as it is. ok is
// false for another type.
func stringMember(v []byte, s *string) (ok bool) {
	switch {
	case isNullValue(v):
		return true
	case v[0] != '"':
		return false
	}
	if c := contents(v); needsDecode(c) {
		*s = string(unquote(nil, c))
	} else {
		*s = string(c)
	}
	return true
}

func toolTypeError(path, want string) *providers.Error {
	return providers.InvalidRequest(path, "Invalid type for '"+path+"': expected "+want+".")
}
