package executor

import "github.com/switchyard/switchyard/keyring"

// Caller is the authenticated client key of a request, from the configuration file
// or issued at run time: what it may use (Allows), and the limits and budgets of the
// key and its team that bind it.
type Caller = keyring.Identity

// Anonymous is the caller when the API is open (no keys anywhere).
var Anonymous = &Caller{Name: "anonymous"}

// unauthenticated is the caller of a record until a key is found.
var unauthenticated = &Caller{Name: "-"}

// limited reports whether c has a rate limit, its own or its team's.
func limited(c *Caller) bool { return len(c.RateScopes) > 0 }
