package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/switchyard/switchyard/keyring"
)

const keysUsage = `Usage: switchyard keys COMMAND [NAME] [flags]

  create NAME [--team T] [--models a,b] [--rpm N] [--tpm N] [--budget USD [--period P] [--soft S]]
              [--expires RFC3339 | --expires-in DURATION] [--metadata k=v]...
                     issue a key; its secret is printed this once
  list               every key, the configuration file's included (read-only)
  show NAME          one key, with its spend and rate-limit usage
  update NAME [the flags of create] [--no-team] [--no-models] [--no-limits] [--no-budget]
              [--no-expiry] [--no-metadata] [--version N]
                     change a key (read, changed, written back at the version read)
  rotate NAME [--grace DURATION]
                     a new secret; the old one stays valid for the grace period (default 0)
  revoke NAME        refuse the key from now on, on every replica

Every command takes --admin URL (default $SWITCHYARD_ADMIN or http://127.0.0.1:9090, the
admin_listen address) and --json. The admin token is read from $SWITCHYARD_ADMIN_TOKEN.
`

func keysCmd(args []string, stdout, stderr io.Writer) int {
	var kf *keyFlags
	var grace *time.Duration
	withKeyFlags := func(update bool) func(fs *flag.FlagSet) {
		return func(fs *flag.FlagSet) { kf = addKeyFlags(fs, update) }
	}
	subs := map[string]adminSub{
		"create": {flags: withKeyFlags(false), named: true, run: func(c *adminClient, name, _ string, fs *flag.FlagSet) error {
			return keysCreate(c, name, kf, fs, stderr)
		}},
		"list": {run: func(c *adminClient, _, _ string, _ *flag.FlagSet) error {
			return call(c, "GET", "/admin/keys", nil, "", printKeyList)
		}},
		"show": {named: true, run: func(c *adminClient, _, path string, _ *flag.FlagSet) error {
			return call(c, "GET", path, nil, "", printKey)
		}},
		"update": {flags: withKeyFlags(true), named: true, run: func(c *adminClient, _, path string, fs *flag.FlagSet) error {
			return update(c, path, kf, fs, func(k *keyring.Key) (*keyring.Key, int64) { return k, k.Version }, printKey)
		}},
		"rotate": {
			flags: func(fs *flag.FlagSet) {
				grace = fs.Duration("grace", 0, "how long the old secret stays valid (e.g. 1h; at most 720h)")
			},
			named: true,
			run: func(c *adminClient, _, path string, _ *flag.FlagSet) error {
				err := call(c, "POST", path+"/rotate", map[string]any{"grace": grace.String()}, "", printKey)
				if err == nil && !c.json {
					fmt.Fprintln(stderr, "The new key is shown this once: store it now. The old one works until the grace period ends.")
				}
				return err
			},
		},
		"revoke": {named: true, run: func(c *adminClient, name, path string, _ *flag.FlagSet) error {
			return deleteObject(c, path, "revoked "+name)
		}},
	}
	return runAdminCmd("keys", keysUsage, subs, args, stdout, stderr)
}

// deleteObject sends a DELETE and says done.
func deleteObject(c *adminClient, path, done string) error {
	if _, err := c.do("DELETE", path, nil, "", nil); err != nil {
		return err
	}
	if !c.json {
		fmt.Fprintln(c.stdout, done)
	}
	return nil
}

// keyFlags are the fields of a key as flags.
type keyFlags struct {
	team, models, expires, period *string
	rpm, tpm                      *int64
	budget, soft                  *float64
	expiresIn                     *time.Duration
	metadata                      metadataFlag
	version                       *int64
	clear                         map[string]*bool
}

type metadataFlag map[string]string

func (m metadataFlag) String() string { return "" }

func (m metadataFlag) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return fmt.Errorf("want key=value, got %q", v)
	}
	m[k] = val
	return nil
}

func addKeyFlags(fs *flag.FlagSet, update bool) *keyFlags {
	kf := &keyFlags{
		team:      fs.String("team", "", "team of the key (it must exist)"),
		models:    fs.String("models", "", "comma-separated aliases or globs the key may use (default: all)"),
		rpm:       fs.Int64("rpm", 0, "requests per minute (0: unlimited)"),
		tpm:       fs.Int64("tpm", 0, "tokens per minute (0: unlimited)"),
		budget:    fs.Float64("budget", 0, "budget in USD per period"),
		period:    fs.String("period", "monthly", "budget period: daily, weekly, monthly or total"),
		soft:      fs.Float64("soft", 0.8, "share of the budget at which a warning is logged"),
		expires:   fs.String("expires", "", "expiry, RFC 3339 (e.g. 2027-01-31T00:00:00Z)"),
		expiresIn: fs.Duration("expires-in", 0, "expiry from now (e.g. 720h)"),
		metadata:  metadataFlag{},
		clear:     map[string]*bool{},
	}
	fs.Var(kf.metadata, "metadata", "a metadata field key=value (repeatable)")
	if update {
		for _, f := range []string{"team", "models", "limits", "budget", "expiry", "metadata"} {
			kf.clear[f] = fs.Bool("no-"+f, false, "clear the key's "+f)
		}
		kf.version = fs.Int64("version", 0, "write only if the key is at this version (default: the version read)")
	}
	return kf
}

// fields is the body that the given flags describe, on top of cur (the key as read,
// for an update: limits, budget and metadata are whole objects in the API).
func (kf *keyFlags) fields(set map[string]bool, cur *keyring.Key) (map[string]any, error) {
	body := map[string]any{}
	if set["team"] {
		body["team"] = *kf.team
	}
	if set["models"] {
		var models []string
		for _, m := range strings.Split(*kf.models, ",") {
			if m = strings.TrimSpace(m); m != "" {
				models = append(models, m)
			}
		}
		body["models"] = models
	}
	if set["rpm"] || set["tpm"] {
		l := keyring.Limits{}
		if cur != nil && cur.Limits != nil {
			l = *cur.Limits
		}
		if set["rpm"] {
			l.RPM = *kf.rpm
		}
		if set["tpm"] {
			l.TPM = *kf.tpm
		}
		body["limits"] = l
	}
	if set["budget"] || set["period"] || set["soft"] {
		b := keyring.Budget{Period: *kf.period, Soft: *kf.soft}
		if cur != nil && cur.Budget != nil {
			b = *cur.Budget
		}
		if set["budget"] {
			b.USD = *kf.budget
		}
		if set["period"] {
			b.Period = *kf.period
		}
		if set["soft"] {
			b.Soft = *kf.soft
		}
		if b.USD == 0 {
			return nil, usagef("--period and --soft need --budget USD")
		}
		body["budget"] = b
	}
	switch {
	case set["expires"] && set["expires-in"]:
		return nil, usagef("--expires and --expires-in exclude each other")
	case set["expires"]:
		body["expires_at"] = *kf.expires
	case set["expires-in"]:
		body["expires_at"] = time.Now().Add(*kf.expiresIn).UTC().Format(time.RFC3339)
	}
	if len(kf.metadata) > 0 {
		md := map[string]json.RawMessage{}
		if cur != nil {
			for k, v := range cur.Metadata {
				md[k] = v
			}
		}
		for k, v := range kf.metadata {
			md[k], _ = json.Marshal(v)
		}
		body["metadata"] = md
	}
	for f, on := range kf.clear {
		if !*on {
			continue
		}
		name := map[string]string{"expiry": "expires_at"}[f]
		if name == "" {
			name = f
		}
		if _, both := body[name]; both {
			return nil, usagef("--no-%s contradicts the flags that set it", f)
		}
		body[name] = nil
	}
	return body, nil
}

func keysCreate(c *adminClient, name string, kf *keyFlags, fs *flag.FlagSet, stderr io.Writer) error {
	body, err := kf.fields(given(fs), nil)
	if err != nil {
		return err
	}
	body["name"] = name
	if err := call(c, "POST", "/admin/keys", body, "", printKey); err != nil {
		return err
	}
	if !c.json {
		fmt.Fprintln(stderr, "The key is shown this once: store it now. Afterwards only its prefix is shown.")
	}
	return nil
}

// update reads an object, builds the body the flags describe on top of it (fields
// of it as a key: cur), and writes it back at the version read, or --version.
func update[T any](c *adminClient, path string, kf *keyFlags, fs *flag.FlagSet, cur func(*T) (*keyring.Key, int64),
	print func(io.Writer, *T)) error {
	var v T
	if _, err := c.do("GET", path, nil, "", &v); err != nil {
		return err
	}
	asKey, version := cur(&v)
	body, err := kf.fields(given(fs), asKey)
	if err != nil {
		return err
	}
	if len(body) == 0 {
		return usagef("nothing to change: give the flags of the fields to change")
	}
	if *kf.version > 0 {
		version = *kf.version
	}
	return call(c, "PATCH", path, body, quoteVersion(version), print)
}

// call sends one call and prints its answer: the API's JSON with --json, else
// print's rendering of it.
func call[T any](c *adminClient, method, path string, body any, ifMatch string, print func(io.Writer, *T)) error {
	var v T
	data, err := c.do(method, path, body, ifMatch, &v)
	if err != nil {
		return err
	}
	if c.json {
		c.printJSON(data)
		return nil
	}
	print(c.stdout, &v)
	return nil
}

func printKeyList(w io.Writer, list *keyring.List[keyring.Key]) {
	tw := newTable(w, "NAME", "SOURCE", "STATUS", "TEAM", "PREFIX", "MODELS", "LIMITS", "BUDGET", "EXPIRES")
	for _, k := range list.Data {
		tw.row(k.Name, k.Source, k.Status, k.Team, k.Prefix, strings.Join(k.Models, ","), limitsText(k.Limits),
			budgetText(k.Budget), timeText(k.ExpiresAt))
	}
	_ = tw.flush()
}
