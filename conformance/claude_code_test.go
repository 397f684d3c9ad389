package conformance

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/switchyard/switchyard/providers/fakes"
)

// TestClaudeCodeSessionReplay replays the Claude Code-shaped session
// (claude_code_session_test.go) through Switchyard to each cloud that serves
// Claude natively, and sends each request the cloud received to an identical
// twin of that cloud directly:
//
//   - the answers Claude Code gets through Switchyard are byte-identical to the
//     direct answers: the same body, the same stream bytes (from Bedrock, whose
//     stream is AWS event-stream framing, the same event bytes, each as one
//     server-sent event named by its type);
//   - what the cloud received is what the client sent but the model: on
//     Anthropic the same bytes with the model rewritten, and the client's
//     anthropic-beta header; on Bedrock the client's members (model and stream
//     left out: they are in the path) after anthropic_version and the
//     anthropic_beta flags Bedrock takes; on Vertex AI the client's members but
//     the model, then anthropic_version, the flags Vertex takes in the header;
//   - the thinking blocks' signatures, the redacted thinking and the tool inputs
//     reach the client intact, and go back in the next turns as they came.
func TestClaudeCodeSessionReplay(t *testing.T) {
	session := claudeCodeSession()
	checkSessionShape(t, session)
	for _, name := range []string{"anthropic", "bedrock-claude", "vertex-claude"} {
		b := backendNamed(t, name)
		t.Run(name, func(t *testing.T) {
			e := startMessages(t, b, false)
			twin, _ := b.start(t, b.name)
			t.Cleanup(twin.Close)
			for _, turn := range session {
				if !turn.count {
					script(t, e.cloud, turn.reply)
					script(t, twin, turn.reply)
				}
				sent := turn.bodyFor(b.name)
				got, header := e.claudeCode(turn, sent)
				recs := e.cloud.Requests()
				up := recs[len(recs)-1]
				checkUpstream(t, b, turn, sent, up)
				if turn.count {
					n := countOf(t, got)
					if header.Get("X-Switchyard-Token-Count") != "exact" || n != directCount(t, b, twin, up) {
						t.Errorf("%s: count %d (%s)", turn.name, n, header.Get("X-Switchyard-Token-Count"))
					}
					continue
				}
				if want := directAnswer(t, b, twin, turn, up); !bytes.Equal(got, want) {
					t.Errorf("%s: the answer through Switchyard differs from the direct one\nthrough: %.600s\ndirect:  %.600s", turn.name, got, want)
				}
				checkBlocks(t, turn, got)
			}
		})
	}
}

func backendNamed(t *testing.T, name string) *messagesBackend {
	for _, b := range messagesBackends {
		if b.name == name {
			return b
		}
	}
	t.Fatalf("no backend %q", name)
	return nil
}

// checkSessionShape keeps the session what it claims to be.
func checkSessionShape(t *testing.T, session []ccTurn) {
	t.Helper()
	var req struct {
		System   []map[string]any `json:"system"`
		Tools    []map[string]any `json:"tools"`
		Thinking map[string]any   `json:"thinking"`
		Stream   bool             `json:"stream"`
	}
	if err := json.Unmarshal(session[len(session)-2].body, &req); err != nil {
		t.Fatal(err)
	}
	streamed, signatures := 0, 0
	for _, turn := range session {
		if turn.stream {
			streamed++
		}
		signatures += bytes.Count(turn.body, []byte(`"signature":`))
	}
	if len(req.Tools) < 20 || len(req.System) < 2 || req.System[1]["cache_control"] == nil || req.Thinking["type"] != "enabled" ||
		!req.Stream || streamed < 5 || signatures < 6 || len(session[len(session)-2].body) < 20000 {
		t.Fatalf("the session is not Claude Code-shaped: %d tools, %d system blocks, thinking %v, %d streamed turns, %d signatures resent, %d bytes",
			len(req.Tools), len(req.System), req.Thinking, streamed, signatures, len(session[len(session)-2].body))
	}
}

type scripted interface{ Script(...fakes.ClaudeReply) }

func script(t *testing.T, c cloud, r fakes.ClaudeReply) {
	s, ok := c.(scripted)
	if !ok {
		t.Fatalf("%T cannot be scripted", c)
	}
	s.Script(r)
}

// claudeCode sends a request through Switchyard as Claude Code does
// (ANTHROPIC_BASE_URL and ANTHROPIC_AUTH_TOKEN; its headers; ?beta=true).
func (e *mEnv) claudeCode(turn ccTurn, body []byte) ([]byte, http.Header) {
	e.t.Helper()
	path := "/v1/messages?beta=true"
	if turn.count {
		path = "/v1/messages/count_tokens?beta=true"
	}
	req, _ := http.NewRequest(http.MethodPost, e.root+path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+clientKey)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Anthropic-Version", "2023-06-01")
	req.Header.Set("Anthropic-Beta", strings.Join(ccBeta, ","))
	req.Header.Set("Anthropic-Dangerous-Direct-Browser-Access", "true")
	req.Header.Set("X-App", "cli")
	req.Header.Set("User-Agent", "claude-cli/2.0.50 (external, cli)")
	req.Header.Set("X-Stainless-Lang", "js")
	req.Header.Set("X-Stainless-Retry-Count", "0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		e.t.Fatalf("%s: HTTP %d %v: %.500s", turn.name, resp.StatusCode, err, out)
	}
	return out, resp.Header
}

// checkUpstream: the cloud received what the client sent but the model, and
// what the cloud requires where it requires it.
func checkUpstream(t *testing.T, b *messagesBackend, turn ccTurn, sent []byte, up fakes.Recorded) {
	t.Helper()
	client := members(t, sent)
	without := func(names ...string) []member {
		var out []member
		for _, m := range client {
			if !slices.Contains(names, m.name) {
				out = append(out, m)
			}
		}
		return out
	}
	const kept = `["interleaved-thinking-2025-05-14"]`
	switch b.name {
	case "anthropic":
		if want := turn.bodyFor(b.model); !bytes.Equal(up.Body, want) {
			t.Errorf("%s: Anthropic received\n%.400s\nwant\n%.400s", turn.name, up.Body, want)
		}
		if up.Header.Get("Anthropic-Beta") != strings.Join(ccBeta, ",") || up.Header.Get("X-Api-Key") != "sk-ant-upstream" ||
			up.Header.Get("Anthropic-Version") != "2023-06-01" || up.Header.Get("Authorization") != "" {
			t.Errorf("%s: Anthropic received headers %v", turn.name, up.Header)
		}
	case "bedrock-claude":
		body := up.Body
		want := append([]member{{"anthropic_version", `"bedrock-2023-05-31"`}, {"anthropic_beta", kept}}, without("model", "stream")...)
		if turn.count {
			body = invokeBodyOf(t, up.Body)
			want = append(want, member{"max_tokens", "1"})
		} else if n := invokeNative(t, up); n.Model != b.model || n.Stream != turn.stream {
			t.Errorf("%s: Bedrock reached as %+v", turn.name, n)
		}
		if got := members(t, body); !slices.Equal(got, want) {
			t.Errorf("%s: Bedrock received members %v\nwant %v", turn.name, names(got), names(want))
		}
	case "vertex-claude":
		want := append(without("model"), member{"anthropic_version", `"vertex-2023-10-16"`})
		if turn.count {
			want = append(slices.Clone(client), member{"anthropic_version", `"vertex-2023-10-16"`})
			want[0].value = strconv.Quote(b.model)
		} else if n := vertexNative(t, up); n.Model != b.model || n.Stream != turn.stream {
			t.Errorf("%s: Vertex AI reached as %+v", turn.name, n)
		}
		if got := members(t, up.Body); !slices.Equal(got, want) {
			t.Errorf("%s: Vertex AI received members %v\nwant %v", turn.name, names(got), names(want))
		}
		if up.Header.Get("Anthropic-Beta") != "interleaved-thinking-2025-05-14" || up.Header.Get("Authorization") != "Bearer "+vertexToken {
			t.Errorf("%s: Vertex AI received headers %v", turn.name, up.Header)
		}
	}
}

func names(ms []member) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.name)
	}
	return out
}

// invokeBodyOf is the InvokeModel body inside a CountTokens request.
func invokeBodyOf(t *testing.T, body []byte) []byte {
	t.Helper()
	var doc struct {
		Input struct {
			InvokeModel struct {
				Body []byte `json:"body"`
			} `json:"invokeModel"`
		} `json:"input"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Input.InvokeModel.Body
}

// directAnswer sends the request the cloud received to its twin directly (to
// Bedrock signed afresh for the twin) and returns the answer as Switchyard must
// relay it: the same body, the same stream; Bedrock's event-stream chunks each
// as the server-sent event their bytes are.
func directAnswer(t *testing.T, b *messagesBackend, twin cloud, turn ccTurn, up fakes.Recorded) []byte {
	t.Helper()
	if b.name != "bedrock-claude" {
		return replay(t, twinURL(twin), up)
	}
	out := bedrockReplay(t, twin, up)
	if !turn.stream {
		return out
	}
	var sse []byte
	dec := eventstream.NewDecoder()
	r := bytes.NewReader(out)
	for r.Len() > 0 {
		msg, err := dec.Decode(r, nil)
		if err != nil {
			t.Fatalf("direct stream: %v", err)
		}
		if ev := msg.Headers.Get(":event-type"); ev == nil || ev.String() != "chunk" {
			t.Fatalf("direct stream: event %v: %s", ev, msg.Payload)
		}
		var chunk struct {
			Bytes []byte `json:"bytes"`
		}
		var doc struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal(msg.Payload, &chunk); err != nil || json.Unmarshal(chunk.Bytes, &doc) != nil {
			t.Fatalf("direct stream: chunk %s", msg.Payload)
		}
		sse = append(sse, "event: "+doc.Type+"\ndata: "...)
		sse = append(append(sse, chunk.Bytes...), "\n\n"...)
	}
	return sse
}

func twinURL(c cloud) string {
	switch f := c.(type) {
	case *fakes.Anthropic:
		return f.BaseURL()
	case *fakes.Vertex:
		return f.BaseURL()
	}
	panic("no URL for this cloud") // the replay's table names only these
}

// replay sends a recorded request again, to base.
func replay(t *testing.T, base string, up fakes.Recorded) []byte {
	t.Helper()
	req := recordedRequest(base, up)
	req.Header = up.Header.Clone()
	req.Header.Del("Accept-Encoding")
	req.Header.Del("Content-Length")
	return send(t, req)
}

func recordedRequest(base string, up fakes.Recorded) *http.Request {
	u := base + up.Path
	if up.Query != "" {
		u += "?" + up.Query
	}
	req, _ := http.NewRequest(up.Method, u, bytes.NewReader(up.Body))
	return req
}

func send(t *testing.T, req *http.Request) []byte {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("direct: HTTP %d %v: %s", resp.StatusCode, err, out)
	}
	return out
}

// bedrockReplay sends a request Bedrock received to its twin, signed for it
// with the same credentials (SigV4 covers the host).
func bedrockReplay(t *testing.T, twin cloud, up fakes.Recorded) []byte {
	t.Helper()
	req := recordedRequest(twin.(*fakes.Bedrock).Endpoint(), up)
	req.Header.Set("Content-Type", "application/json")
	sum := sha256.Sum256(up.Body)
	creds := aws.Credentials{AccessKeyID: "AKIDCONFORMANCE", SecretAccessKey: "conformance-secret"}
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "bedrock", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	return send(t, req)
}

func countOf(t *testing.T, body []byte) int {
	var doc struct {
		InputTokens int `json:"input_tokens"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("count %s: %v", body, err)
	}
	return doc.InputTokens
}

// directCount asks the twin for the count of the request the cloud received.
func directCount(t *testing.T, b *messagesBackend, twin cloud, up fakes.Recorded) int {
	t.Helper()
	if b.name != "bedrock-claude" {
		return countOf(t, replay(t, twinURL(twin), up))
	}
	var doc struct {
		InputTokens int `json:"inputTokens"`
	}
	if err := json.Unmarshal(bedrockReplay(t, twin, up), &doc); err != nil {
		t.Fatal(err)
	}
	return doc.InputTokens
}

// checkBlocks reads the answer as the client does (the official SDK
// accumulating the stream, or the Message) and finds the scripted blocks
// intact: thinking and its signature, redacted thinking, text, tool_use and its
// input.
func checkBlocks(t *testing.T, turn ccTurn, got []byte) {
	t.Helper()
	var msg anthropic.Message
	if turn.stream {
		for _, ev := range parseSSE(got) {
			var u anthropic.MessageStreamEventUnion
			if err := u.UnmarshalJSON([]byte(ev.data)); err != nil {
				t.Fatalf("%s: event %s: %v", turn.name, ev.data, err)
			}
			if err := msg.Accumulate(u); err != nil {
				t.Fatalf("%s: the SDK refused %s: %v", turn.name, ev.data, err)
			}
		}
	} else if err := json.Unmarshal(got, &msg); err != nil {
		t.Fatalf("%s: %v", turn.name, err)
	}
	if len(msg.Content) != len(turn.reply.Content) {
		t.Fatalf("%s: %d blocks, want %d", turn.name, len(msg.Content), len(turn.reply.Content))
	}
	for i, raw := range turn.reply.Content {
		var want struct {
			Type, Text, Thinking, Signature, Data, ID, Name string
			Input                                           json.RawMessage
		}
		_ = json.Unmarshal(raw, &want)
		b := msg.Content[i]
		ok := b.Type == want.Type
		switch want.Type {
		case "thinking":
			ok = ok && b.Thinking == want.Thinking && b.Signature == want.Signature
		case "redacted_thinking":
			ok = ok && b.Data == want.Data
		case "text":
			ok = ok && b.Text == want.Text
		case "tool_use":
			ok = ok && b.ID == want.ID && b.Name == want.Name && jsonEqual(b.Input, want.Input)
		}
		if !ok {
			t.Errorf("%s: block %d is %s, want %s", turn.name, i, b.RawJSON(), raw)
		}
	}
	if turn.reply.Usage != nil && (msg.Usage.CacheReadInputTokens != int64(turn.reply.Usage.CacheReadInputTokens) ||
		msg.Usage.CacheCreationInputTokens != int64(turn.reply.Usage.CacheCreationInputTokens) ||
		msg.Usage.OutputTokens != int64(turn.reply.Usage.OutputTokens)) {
		t.Errorf("%s: usage %s", turn.name, msg.Usage.RawJSON())
	}
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	ja, _ := json.Marshal(x)
	jb, _ := json.Marshal(y)
	return bytes.Equal(ja, jb)
}
