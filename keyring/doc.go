// Package keyring owns Switchyard's client keys and teams: the keys of the
// configuration file and those issued at run time through the admin API, and the
// lookup of a request's bearer token among them.
//
// Runtime keys and teams are rows of one table of the state store (embedded for one
// process, Redis for replicas), so every replica sees the same ones with no reload.
// A key's secret is "sk-sy-" and 43 base62 characters from crypto/rand (256 bits);
// only its SHA-256 digest is stored. A fast hash is enough for a secret of that
// entropy: nobody can enumerate 2^256 candidates whatever each costs, and a slow
// password hash (bcrypt, argon2) would only add milliseconds to every request. Only
// a prefix ("sk-sy-AbCdEf") is ever shown again.
//
// The request path reads an immutable index (digest → identity) through one atomic
// load: a hit costs a SHA-256 and a map lookup, as the file's keys always did. The
// index is rebuilt when the table changes. Each replica polls the table's stamp
// every Options.Poll (250 ms by default) and fetches only the rows changed since,
// so a revocation on one replica is refused on every other within one poll and one
// store round trip (under a second with the default 250 ms store timeout). A token
// the index does not know triggers one more poll before it is refused, so a key
// created on one replica works on every other at once. Concurrent misses share one
// poll, which starts after the last of them arrived.
//
// A replica that has not heard from the store for Options.MaxStale (2 s; judged
// after every poll) reports runtime keys as Unsynced: the proxy then refuses them with 503 (or serves them
// from its last copy with state.fail_open), since it cannot know of a revocation.
// The file's keys never depend on the store.
package keyring
