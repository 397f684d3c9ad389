package anthropic

import (
	"bytes"
	"errors"

	"github.com/switchyard/switchyard/internal/jsonscan"
)

// One meaning per request (DESIGN.md): the gateway decides on what it decodes
// (the model and the caller's allow-list, stream, max_tokens and a rule's cap,
// tools, images, thinking) and native targets get the client's own bytes with
// only "model" (and "stream") edited in place. Both must read the same request.
// encoding/json matches member names case-insensitively and keeps the last of
// repeated members; the in-place edit sees names as written; upstream parsers
// keep the first or the last. A body whose top-level members could be read two
// ways is refused before anything else looks at it:
//
//   - a member written twice: {"max_tokens":5000,"max_tokens":50} is 50 here
//     and 5000 to a first-wins parser, past a rule's cap;
//   - a member name written with escapes: "str\u0065am" is stream to every
//     parser but not to an edit that looks for "stream";
//   - a member name that differs from one Request declares only by case
//     ("MODEL", or "ſtream" with the long s that Unicode folds to s): it is
//     model or stream here, an unknown member upstream.
//
// The check is internal/jsonscan's, shared with the OpenAI dialect, over the members
// Request declares: one pass validates the body and reads its members.

// declared are the member names Request declares, as jsonscan reads them.
var declared = func() *jsonscan.Names {
	names := make([]string, 0, len(knownMembers))
	for m := range knownMembers {
		names = append(names, m)
	}
	return jsonscan.NewNames(names...)
}()

// eachMember validates body and calls fn, in order, with the name and raw
// value of every top-level member and what the strings of the value hold,
// refusing a body whose members are repeated, or written with escapes or in
// another case than a member Request declares (a 400 naming the member). fn's error stops the walk and is returned. A body that is
// not valid JSON, or not an object, is a 400.
func eachMember(body []byte, fn func(name, value []byte, text jsonscan.Text) error) error {
	err := jsonscan.MembersNoting(body, declared, fn)
	var amb *jsonscan.AmbiguousError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &amb):
		switch amb.Kind {
		case jsonscan.Duplicate:
			return invalid("%s: the member is repeated; send it once", quoteName([]byte(amb.Name)))
		case jsonscan.Escaped:
			return invalid("%s: member names must be written without escapes", quoteName([]byte(amb.Raw)))
		}
		return invalid("%s: unknown member; member names are case-sensitive", quoteName([]byte(amb.Name)))
	case errors.Is(err, jsonscan.ErrSyntax):
		return invalid("There was an issue with the format or content of your request: the body is not valid JSON.")
	case errors.Is(err, jsonscan.ErrNotObject):
		return invalid("The request body is not a JSON object.")
	}
	return err
}

// quoteName is a member name as an error may quote it: bounded, without
// control characters.
func quoteName(k []byte) string {
	const limit = 64
	if len(k) > limit {
		k = k[:limit]
	}
	return string(bytes.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, k))
}
