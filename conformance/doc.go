// Package conformance holds the suites that every backend type must pass: the
// same scenarios, sent with an official SDK through a Switchyard proxy started
// in-process, against an emulated cloud of each type (providers/fakes).
//
// The OpenAI dialect (openai-go): a backend is a row of the table in
// backends_test.go: how to start its fake, its provider entry in the
// configuration, the upstream model, how to read the requests it received in its
// own wire format, and the scenarios it refuses by design, each with its reason.
// Every scenario of conformance_test.go runs against every row.
//
// The Anthropic dialect (anthropic-sdk-go): the table of messages_backends_test.go
// names every backend type as a Messages client reaches it, natively (Anthropic,
// Claude on Bedrock through InvokeModel, Claude on Vertex AI) or translated; every
// scenario of messages_test.go runs against every row. claude_code_test.go replays
// a Claude Code-shaped session to the native clouds and compares each answer with
// the cloud's direct answer, byte for byte.
//
// Adding a provider type means adding a row to each table.
package conformance
