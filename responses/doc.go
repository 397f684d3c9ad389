// Package responses serves OpenAI's Responses API on top of Switchyard's chat
// pipeline: it decodes and validates create requests, keeps conversation state
// itself (a response's items stored once under its id, chained by
// previous_response_id), turns the stored chain plus the new input into one
// canonical chat request for whichever target the plan picks, and turns the chat
// answer or stream back into a Response or the Responses SSE event sequence.
//
// Conversation state never depends on an upstream's own previous_response_id, so a
// conversation started on one cloud continues on another after a failover.
//
// Everything here is pure except Store, which talks to a state.Store; nothing
// reaches the network. A create handler runs:
//
//	req, err := responses.DecodeCreate(body)          // 400s name the parameter
//	turn, err := store.Begin(ctx, req, owner)         // chain loaded, limits checked
//	chat, err := turn.Chat(window, est)               // fitted to the target, as chat
//	// ... providers.NewRequest(chat), run it through the executor ...
//	final, err := turn.CompleteJSON(p.resp.Body)      // non-streamed
//	// or, streamed: b := turn.Stream(); write b.Start(); for every chunk
//	// (usage-only ones too) write b.Chunk(c.Data); at io.EOF write b.Finish(),
//	// on a failure b.Fail(err); both also return the final Response.
//	_, err = store.Save(ctx, turn, final)             // a no-op for store: false
//
// GET, DELETE and input_items are store.Get, store.Delete and store.InputItems
// (with ParseListParams). Errors for the client are *providers.Error values in
// OpenAI's shape; store outages wrap state.ErrUnavailable.
//
// Wire formats follow the official openai-go SDK (v3, package responses), whose
// types decode everything written here (see sdk_test.go), and the API reference at
// developers.openai.com/api/reference/resources/responses.
package responses
