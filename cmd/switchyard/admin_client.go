package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/user"
	"strconv"
	"strings"
	"time"
)

// The keys and teams commands talk to the admin API of a running Switchyard
// (admin_listen), as any script could: the token comes from the environment, never
// from a flag, so that it stays out of shell history and process listings.
const (
	adminTokenEnv = "SWITCHYARD_ADMIN_TOKEN"
	adminURLEnv   = "SWITCHYARD_ADMIN"
	defaultAdmin  = "http://127.0.0.1:9090"
)

// adminClient calls the admin API.
type adminClient struct {
	base   string
	token  string
	http   *http.Client
	stdout io.Writer
	json   bool
}

// adminFlags are the flags every keys and teams command takes.
type adminFlags struct {
	admin *string
	json  *bool
}

func addAdminFlags(fs *flag.FlagSet) adminFlags {
	def := os.Getenv(adminURLEnv)
	if def == "" {
		def = defaultAdmin
	}
	return adminFlags{
		admin: fs.String("admin", def, "admin API base URL (admin_listen; default $"+adminURLEnv+" or "+defaultAdmin+")"),
		json:  fs.Bool("json", false, "print the API's JSON instead of a table"),
	}
}

func (f adminFlags) client(stdout io.Writer) (*adminClient, error) {
	token := os.Getenv(adminTokenEnv)
	if token == "" {
		return nil, fmt.Errorf("set %s to the admin token (admin_token in the configuration)", adminTokenEnv)
	}
	u, err := url.Parse(*f.admin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--admin %q: want http://HOST:PORT", *f.admin)
	}
	return &adminClient{base: strings.TrimRight(*f.admin, "/"), token: token,
		http: &http.Client{Timeout: 30 * time.Second}, stdout: stdout, json: *f.json}, nil
}

// apiError is an error answered by the admin API.
type apiError struct {
	Status  int
	Code    string
	Message string
}

func (e *apiError) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("%d: %s", e.Status, e.Message)
	}
	return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message)
}

// do sends one call; the answer's body is decoded into out (when not nil) and
// returned raw for --json.
func (c *adminClient) do(method, path string, body any, ifMatch string, out any) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	if u, err := user.Current(); err == nil {
		req.Header.Set("X-Switchyard-Actor", u.Username) // recorded in the audit line as a claim
	}
	if ifMatch != "" {
		req.Header.Set("If-Match", ifMatch)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 {
		var doc struct {
			Error struct {
				Message string  `json:"message"`
				Code    *string `json:"code"`
			} `json:"error"`
		}
		e := &apiError{Status: resp.StatusCode, Message: strings.TrimSpace(string(data))}
		if json.Unmarshal(data, &doc) == nil && doc.Error.Message != "" {
			e.Message = doc.Error.Message
			if doc.Error.Code != nil {
				e.Code = *doc.Error.Code
			}
		}
		return nil, e
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return nil, fmt.Errorf("unexpected answer from %s: %w", c.base, err)
		}
	}
	return data, nil
}

// printJSON prints an answer indented.
func (c *adminClient) printJSON(data []byte) {
	var buf bytes.Buffer
	if json.Indent(&buf, data, "", "  ") != nil {
		buf.Reset()
		buf.Write(data)
	}
	fmt.Fprintln(c.stdout, strings.TrimSpace(buf.String()))
}

// parseInterleaved parses flags that may come before or after positional
// arguments ("keys create NAME --team x"), which flag.Parse alone does not.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos, args = append(pos, args[0]), args[1:]
	}
}

// given reports which flags were set on the command line.
func given(fs *flag.FlagSet) map[string]bool {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return set
}

// adminSub is one command of keys or teams: its flags, whether it takes a NAME, and
// what it does.
type adminSub struct {
	flags func(fs *flag.FlagSet)
	named bool
	run   func(c *adminClient, name, path string, fs *flag.FlagSet) error
}

// runAdminCmd runs `switchyard GROUP SUB [NAME] [flags]`; path is the object's
// /admin/GROUP/NAME.
func runAdminCmd(group, usage string, subs map[string]adminSub, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, usage)
		return 2
	}
	name, rest := args[0], args[1:]
	sub, ok := subs[name]
	if !ok {
		fmt.Fprintf(stderr, "switchyard %s: unknown command %q\n\n%s", group, name, usage)
		return 2
	}
	cmd := group + " " + name
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	af := addAdminFlags(fs)
	if sub.flags != nil {
		sub.flags(fs)
	}
	pos, err := parseInterleaved(fs, rest)
	if err != nil {
		return 2
	}
	c, err := af.client(stdout)
	if err != nil {
		return runAdmin(stderr, cmd, err)
	}
	want := 0
	if sub.named {
		want = 1
	}
	if len(pos) != want {
		return runAdmin(stderr, cmd, usagef("want %d argument(s), got %d (%s)", want, len(pos), strings.Join(pos, " ")))
	}
	object := ""
	if sub.named {
		object = pos[0]
	}
	return runAdmin(stderr, cmd, sub.run(c, object, "/admin/"+group+"/"+url.PathEscape(object), fs))
}

// runAdmin reports a command's outcome: 0, 1 for an error of the API or the
// network, 2 for a usage error.
func runAdmin(stderr io.Writer, cmd string, err error) int {
	if err == nil {
		return 0
	}
	fmt.Fprintf(stderr, "switchyard %s: %v\n", cmd, err)
	var usage *usageError
	if errors.As(err, &usage) {
		return 2
	}
	return 1
}

type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

func quoteVersion(v int64) string { return strconv.Quote(strconv.FormatInt(v, 10)) }
