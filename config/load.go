package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"reflect"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/viper"
)

// LookupEnv resolves ${VAR} references; os.LookupEnv in production.
type LookupEnv func(string) (string, bool)

// Load reads, expands and validates the YAML file at path.
// A returned *Error lists every problem found, each with its key path.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(data, os.LookupEnv)
}

// Parse is Load for a file already in memory.
func Parse(data []byte, env LookupEnv) (*Config, error) {
	v := viper.New()
	v.SetConfigType("yaml")
	if err := v.ReadConfig(bytes.NewReader(data)); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	raw := v.AllSettings()
	if len(raw) == 0 {
		return nil, &Error{Problems: []Problem{{Message: "the file is empty (or only comments): a configuration needs " +
			"at least providers: and models: (see config.example.yaml)"}}}
	}
	return decode(raw, env)
}

func decode(raw map[string]any, env LookupEnv) (*Config, error) {
	var ps problems
	expandTree(raw, "", env, &ps)
	checkKeys(raw, "", reflect.TypeFor[Config](), &ps)

	cfg := defaults()
	dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		Result:     &cfg,
		DecodeHook: mapstructure.ComposeDecodeHookFunc(durationHook),
		// Unknown keys are reported by checkKeys with their full path.
		ErrorUnused: false,
	})
	if err != nil {
		return nil, err
	}
	if err := dec.Decode(raw); err != nil {
		addDecodeErrors(err, &ps)
	}
	// Validate even after earlier problems, so that one run lists them all; a key
	// already reported (an unset variable) is not reported again as "required".
	reported := map[string]bool{}
	for _, p := range ps {
		reported[p.Path] = true
	}
	cfg.applyDefaults()
	var vs problems
	cfg.validate(&vs)
	for _, p := range vs {
		if !reported[p.Path] {
			ps = append(ps, p)
		}
	}
	if len(ps) > 0 {
		return nil, &Error{Problems: ps}
	}
	return &cfg, nil
}

// durationHook accepts "30s"-style strings for time.Duration and rejects bare numbers,
// which mapstructure would otherwise read as nanoseconds.
func durationHook(from, to reflect.Type, data any) (any, error) {
	if to != reflect.TypeFor[time.Duration]() {
		return data, nil
	}
	switch v := data.(type) {
	case string:
		d, err := time.ParseDuration(v)
		if err != nil {
			return nil, fmt.Errorf("invalid duration %q (use a unit, e.g. 30s or 1m)", v)
		}
		return d, nil
	case time.Duration:
		return v, nil
	default:
		return nil, fmt.Errorf("invalid duration %v (use a unit, e.g. 30s or 1m)", v)
	}
}

func addDecodeErrors(err error, ps *problems) {
	var de *mapstructure.DecodeError
	if errors.As(err, &de) {
		ps.add(de.Name(), "%v", de.Unwrap())
		return
	}
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range joined.Unwrap() {
			addDecodeErrors(e, ps)
		}
		return
	}
	ps.add("", "%v", err)
}
