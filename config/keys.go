package config

import (
	"reflect"
	"sort"
	"strings"
	"time"
)

// checkKeys reports every key of the raw tree that the Go type does not declare,
// with its full path, so that a typo such as "wieght" fails loudly.
func checkKeys(node any, path string, t reflect.Type, ps *problems) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		if t == reflect.TypeFor[time.Duration]() {
			return
		}
		m, ok := node.(map[string]any)
		if !ok {
			return // a type mismatch; the decoder reports it
		}
		fields := structFields(t)
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			ft, ok := fields[strings.ToLower(k)]
			if !ok {
				ps.add(join(path, k), "unknown key")
				continue
			}
			checkKeys(m[k], join(path, k), ft, ps)
		}
	case reflect.Slice:
		list, ok := node.([]any)
		if !ok {
			return
		}
		for i, item := range list {
			checkKeys(item, index(path, i), t.Elem(), ps)
		}
	}
	// Maps (headers, labels) take any key.
}

func structFields(t reflect.Type) map[string]reflect.Type {
	fields := make(map[string]reflect.Type, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("mapstructure"), ",")
		if name == "" || name == "-" {
			continue
		}
		fields[name] = f.Type
	}
	return fields
}
