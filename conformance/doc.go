// Package conformance holds one test suite that every backend type must pass: the
// same scenarios, sent with the official openai-go SDK through a Switchyard proxy
// started in-process, against an emulated cloud of each type (providers/fakes).
//
// A backend is a row of the table in backends_test.go: how to start its fake, its
// provider entry in the configuration, the upstream model, how to read the
// requests it received in its own wire format, and the scenarios it refuses by
// design, each with its reason. Adding a provider means adding a row; every
// scenario of conformance_test.go then runs against it.
package conformance
