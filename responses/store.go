package responses

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/switchyard/switchyard/providers"
	"github.com/switchyard/switchyard/state"
)

// Stored is one response as kept: its own input items and its Response (whose
// output items are the turn's output), stored once under its id. Turns chain by
// Response.PreviousResponseID. A Stored is immutable once written: the cache and
// every reader share it.
type Stored struct {
	Response *Response `json:"response"`
	Input    []Item    `json:"input"`
	Owner    Owner     `json:"owner"`
	// Root is the id of the conversation's first response: the key of the
	// conversation's generation record (see Store).
	Root string `json:"root"`
	// ChainItems and ChainBytes are the conversation's size up to and including
	// this response, so the size limit is checked from the head alone.
	ChainItems int   `json:"chain_items"`
	ChainBytes int64 `json:"chain_bytes"`
	// ExpiresAt is the end of retention, Unix milliseconds; 0 = kept forever.
	ExpiresAt int64 `json:"expires_at,omitempty"`
}

// Owner is who created a response: the client key's name and team. In open mode
// (no keys) both are empty and every client is the same owner.
type Owner struct {
	Key  string `json:"key"`
	Team string `json:"team,omitempty"`
}

// Options configure a Store. Zero values take the defaults.
type Options struct {
	// Retention is how long a response is kept, from its creation (each record gets
	// it as TTL); a conversation breaks when its oldest turn expires, as OpenAI's
	// stored responses do. Default 720h (30 days, OpenAI's documented minimum).
	Retention time.Duration
	// MaxChainItems bounds the items (inputs and outputs of every turn) of one
	// conversation. Default 4096.
	MaxChainItems int
	// MaxChainBytes bounds the stored bytes of one conversation. Default 8 MiB.
	MaxChainBytes int64
	// CacheSize is the number of decoded responses kept in memory (an LRU), so a
	// long conversation is not re-read and re-decoded on every turn. Default 1024;
	// negative disables the cache.
	CacheSize int
	// CacheMaxRecord is the largest record (encoded bytes) the cache keeps: records
	// with large inline images are re-read instead, which bounds the cache's memory
	// to about CacheSize × CacheMaxRecord. Default 256 KiB.
	CacheMaxRecord int
	// ShareTeam lets keys of one team read and continue each other's responses.
	// Default false: only the key that created a response sees it.
	ShareTeam bool
	// Now is the clock, for tests. Default time.Now.
	Now func() time.Time
}

// Option defaults.
const (
	DefaultRetention      = 30 * 24 * time.Hour
	DefaultMaxChainItems  = 4096
	DefaultMaxChainBytes  = 8 << 20
	DefaultCacheSize      = 1024
	DefaultCacheMaxRecord = 256 << 10
)

// Store keeps responses in a state.Store, under "resp:<id>", with a cache of decoded
// records in front.
//
// The cache and replicas: stored items never change, so any replica may keep a
// decoded copy. What can change is whether a record still exists (deleted, or past
// retention) and who may read it. So:
//   - the head of every lookup (the previous_response_id, the id of a GET) is read
//     from the store every time: existence and ownership are checked there;
//   - retention is checked from each record's own ExpiresAt on every use, cached or
//     not, so no replica serves an expired turn;
//   - deletion is published per conversation: Delete writes fresh random tokens to
//     "respgen:<root>" around removing the record. Cached ancestors carry the token
//     they were validated under and are re-read when the current token differs. A
//     continued conversation thus costs two reads per turn (head and token), however
//     long it is, and a delete on any replica breaks the chain on every replica.
//
// A Store is safe for concurrent use.
type Store struct {
	st   state.Store
	opts Options
	// cache maps a response id to its decoded record and the generation token of
	// its conversation when it was last read from the store.
	cache *lru.Cache[string, cached]
}

type cached struct {
	rec *Stored
	gen string
}

// NewStore returns a Store over st.
func NewStore(st state.Store, opts Options) (*Store, error) {
	if opts.Retention <= 0 {
		opts.Retention = DefaultRetention
	}
	if opts.MaxChainItems <= 0 {
		opts.MaxChainItems = DefaultMaxChainItems
	}
	if opts.MaxChainBytes <= 0 {
		opts.MaxChainBytes = DefaultMaxChainBytes
	}
	if opts.CacheSize == 0 {
		opts.CacheSize = DefaultCacheSize
	}
	if opts.CacheMaxRecord <= 0 {
		opts.CacheMaxRecord = DefaultCacheMaxRecord
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Store{st: st, opts: opts}
	if opts.CacheSize > 0 {
		c, err := lru.New[string, cached](opts.CacheSize)
		if err != nil {
			return nil, err
		}
		s.cache = c
	}
	return s, nil
}

func recordKey(id string) string { return "resp:" + id }
func genKey(root string) string  { return "respgen:" + root }

// Get returns the stored response id if owner may read it; otherwise, and when it
// is absent, deleted or expired, a 404 wrapping ErrNotFound.
func (s *Store) Get(ctx context.Context, id string, owner Owner) (*Stored, error) {
	rec, err := s.head(ctx, id, owner)
	if errors.Is(err, ErrNotFound) {
		return nil, notFound(id)
	}
	return rec, err
}

// head reads the record id from the store (always: existence is checked there),
// decoding it only when the cache has a copy of it. The head is not cached here: the
// generation it would be cached under is read after it (see Delete).
func (s *Store) head(ctx context.Context, id string, owner Owner) (*Stored, error) {
	if !validID(id) {
		return nil, ErrNotFound
	}
	raw, err := s.st.Get(ctx, recordKey(id))
	if errors.Is(err, state.ErrNotFound) {
		s.forget(id)
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("responses: read %s: %w", id, err)
	}
	var rec *Stored
	if s.cache != nil {
		if c, ok := s.cache.Get(id); ok {
			rec = c.rec
		}
	}
	if rec == nil {
		if rec, err = decodeStored(raw, id); err != nil {
			return nil, err
		}
	}
	if !s.allowed(rec, owner) || s.expired(rec) {
		return nil, ErrNotFound
	}
	return rec, nil
}

func (s *Store) allowed(rec *Stored, owner Owner) bool {
	return rec.Owner.Key == owner.Key ||
		(s.opts.ShareTeam && owner.Team != "" && rec.Owner.Team == owner.Team)
}

func (s *Store) expired(rec *Stored) bool {
	return rec.ExpiresAt != 0 && s.opts.Now().UnixMilli() >= rec.ExpiresAt
}

func (s *Store) forget(id string) {
	if s.cache != nil {
		s.cache.Remove(id)
	}
}

func decodeStored(raw []byte, id string) (*Stored, error) {
	var rec Stored
	if err := json.Unmarshal(raw, &rec); err != nil {
		return nil, fmt.Errorf("responses: stored record %s is corrupt: %w", id, err)
	}
	if rec.Response == nil || rec.Response.ID != id {
		return nil, fmt.Errorf("responses: stored record %s holds another response", id)
	}
	// encrypted_content is kept for the next turns, shown only when asked for.
	hideEncrypted(rec.Input)
	hideEncrypted(rec.Response.Output)
	return &rec, nil
}

// Chain is a conversation as stored: its responses, oldest first.
type Chain []*Stored

// load returns the chain ending at id, oldest first, and the conversation's
// generation token as read before any earlier turn was. Ownership is checked on id
// alone: the earlier turns are the content of id, which its owner was allowed to
// build on when it was created.
func (s *Store) load(ctx context.Context, id string, owner Owner, create bool) (Chain, string, error) {
	head, err := s.head(ctx, id, owner)
	if errors.Is(err, ErrNotFound) {
		if create {
			return nil, "", previousNotFound(id)
		}
		return nil, "", notFound(id)
	}
	if err != nil {
		return nil, "", err
	}
	gen, err := s.generation(ctx, head.Root)
	if err != nil {
		return nil, "", err
	}
	chain := Chain{head}
	for prev := head.Response.PreviousResponseID; prev != nil; {
		if len(chain) > head.ChainItems {
			// Every turn holds an item: more turns than items is a loop.
			return nil, "", fmt.Errorf("responses: chain of %s loops", id)
		}
		rec, err := s.ancestor(ctx, *prev, gen)
		if errors.Is(err, ErrNotFound) {
			return nil, "", chainBroken(id, *prev, create)
		}
		if err != nil {
			return nil, "", err
		}
		chain = append(chain, rec)
		prev = rec.Response.PreviousResponseID
	}
	for i, j := 0, len(chain)-1; i < j; i, j = i+1, j-1 {
		chain[i], chain[j] = chain[j], chain[i]
	}
	return chain, gen, nil
}

// ancestor returns an earlier turn: from the cache when it was validated under the
// conversation's current generation gen, else from the store, then cached under gen.
// gen was read before the record: a delete that the record read did not see yet
// writes a newer token, so the entry cannot outlive it (see Delete).
func (s *Store) ancestor(ctx context.Context, id, gen string) (*Stored, error) {
	if s.cache != nil {
		if c, ok := s.cache.Get(id); ok && c.gen == gen {
			if s.expired(c.rec) {
				return nil, ErrNotFound
			}
			return c.rec, nil
		}
	}
	if !validID(id) {
		return nil, ErrNotFound
	}
	raw, err := s.st.Get(ctx, recordKey(id))
	if errors.Is(err, state.ErrNotFound) {
		s.forget(id)
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("responses: read %s: %w", id, err)
	}
	rec, err := decodeStored(raw, id)
	if err != nil {
		return nil, err
	}
	if s.expired(rec) {
		return nil, ErrNotFound
	}
	s.remember(id, rec, len(raw), gen)
	return rec, nil
}

func (s *Store) remember(id string, rec *Stored, size int, gen string) {
	if s.cache != nil && size <= s.opts.CacheMaxRecord {
		s.cache.Add(id, cached{rec: rec, gen: gen})
	}
}

// generation is the conversation's current deletion token, "" before any delete.
func (s *Store) generation(ctx context.Context, root string) (string, error) {
	raw, err := s.st.Get(ctx, genKey(root))
	switch {
	case errors.Is(err, state.ErrNotFound):
		return "", nil
	case err != nil:
		return "", fmt.Errorf("responses: read generation of %s: %w", root, err)
	}
	return string(raw), nil
}

// Delete removes response id, owned by owner: it can no longer be read, listed or
// continued, and conversations that went on from it break at it, on every replica.
//
// A fresh generation token is written before the record is removed and another
// after: readers read the token before the records they cache, so an entry cached
// before the removal carries an older token and is re-read. The first token covers
// the case where the second write fails.
func (s *Store) Delete(ctx context.Context, id string, owner Owner) error {
	rec, err := s.head(ctx, id, owner)
	if errors.Is(err, ErrNotFound) {
		return notFound(id)
	}
	if err != nil {
		return err
	}
	if err := s.bump(ctx, rec.Root); err != nil {
		return fmt.Errorf("responses: delete %s: %w", id, err)
	}
	s.forget(id)
	if err := s.st.Delete(ctx, recordKey(id)); err != nil {
		return fmt.Errorf("responses: delete %s: %w", id, err)
	}
	if err := s.bump(ctx, rec.Root); err != nil {
		return fmt.Errorf("responses: delete %s: %w", id, err)
	}
	return nil
}

// bump writes a new generation token. It lives as long as a record may: a token
// that expires lets the conversation's "" generation match old entries again, and
// by then every record cached before it has expired on its own.
func (s *Store) bump(ctx context.Context, root string) error {
	return s.st.Put(ctx, genKey(root), []byte(newID("")), s.opts.Retention)
}

// Turn is one create request on its way: the loaded conversation, the new input
// (item ids assigned) and the in_progress Response with its new id.
type Turn struct {
	Request  *CreateRequest
	Chain    Chain
	Owner    Owner
	Response *Response
	// gen is the conversation's generation token, read before the new record
	// exists: the new record may be cached under it (see Delete).
	gen string
}

// Begin loads the conversation req continues (previous_response_id, owned by or
// shared with owner), gives the new input items ids, checks the conversation's size
// limit before any upstream call is made, and starts the Response. Store errors
// that mean the state store is unreachable wrap state.ErrUnavailable.
func (s *Store) Begin(ctx context.Context, req *CreateRequest, owner Owner) (*Turn, error) {
	t := &Turn{Request: req, Owner: owner}
	if req.PreviousResponseID != "" {
		chain, gen, err := s.load(ctx, req.PreviousResponseID, owner, true)
		if err != nil {
			return nil, err
		}
		t.Chain, t.gen = chain, gen
	}
	if err := s.resolve(ctx, req.Input, owner); err != nil {
		return nil, err
	}
	t.Response = NewResponse(req, NewResponseID(), s.opts.Now())
	for i := range req.Input {
		assignID(&req.Input[i], t.Response.ID)
	}
	if err := s.checkSize(t); err != nil {
		return nil, err
	}
	return t, nil
}

func assignID(it *Item, responseID string) {
	if it.ID != "" {
		return
	}
	switch it.Type {
	case ItemMessage:
		it.ID = newItemID(prefixMessage, responseID)
	case ItemFunctionCall:
		it.ID = newItemID(prefixCall, responseID)
	case ItemFunctionCallOutput:
		it.ID = newItemID(prefixCallOutput, responseID)
	case ItemReasoning:
		it.ID = newItemID(prefixReasoning, responseID)
	}
}

func (s *Store) checkSize(t *Turn) error {
	items, size := len(t.Request.Input), int64(0)
	for i := range t.Request.Input {
		size += int64(len(appendItem(nil, &t.Request.Input[i])))
	}
	if n := len(t.Chain); n > 0 {
		items += t.Chain[n-1].ChainItems
		size += t.Chain[n-1].ChainBytes
	}
	if items > s.opts.MaxChainItems || size > s.opts.MaxChainBytes {
		return &providers.Error{Class: providers.ClassInvalidRequest, Status: http.StatusBadRequest,
			Type: "invalid_request_error", Code: "conversation_too_large", Param: "previous_response_id",
			Message: fmt.Sprintf("This conversation would hold %d items (%d bytes); this gateway keeps at most %d items and %d bytes per conversation. Start a new conversation, passing the history you need as input.",
				items, size, s.opts.MaxChainItems, s.opts.MaxChainBytes)}
	}
	return nil
}

// Chat is the canonical chat request of the turn for a target with a context
// window of window tokens (0 = unknown): the chain fitted by Fit, then ToChat.
// The proxy calls it per target when windows differ.
func (t *Turn) Chat(window int, est Estimator) (*providers.ChatRequest, error) {
	chain, err := Fit(t.Chain, t.Request, window, est)
	if err != nil {
		return nil, err
	}
	return ToChat(chain, t.Request)
}

// Whole reports whether the whole conversation fits a window of window tokens:
// then Chat(window) is Chat(0), and a caller that built that one reuses it instead
// of building another copy of a long conversation.
func (t *Turn) Whole(window int, est Estimator) (bool, error) {
	chain, err := Fit(t.Chain, t.Request, window, est)
	return len(chain) == len(t.Chain), err
}

// Complete is the final Response of a non-streamed turn.
func (t *Turn) Complete(resp *providers.ChatResponse) *Response { return FromChat(resp, t.Response) }

// CompleteJSON is Complete for the chat completion JSON the executor returns.
func (t *Turn) CompleteJSON(body []byte) (*Response, error) {
	var resp providers.ChatResponse
	if err := json.Unmarshal(body, &resp); err != nil {
		return nil, &providers.Error{Class: providers.ClassDecode, Message: "upstream chat completion could not be decoded", Err: err}
	}
	return t.Complete(&resp), nil
}

// Stream starts the event stream of a streamed turn.
func (t *Turn) Stream() *StreamBuilder { return NewStreamBuilder(t.Response) }

// Save stores the turn with its final Response for retention, unless the request
// said store: false. A turn that began within the size limit is always stored, even
// if its output takes the conversation past it: the next turn is refused instead.
func (s *Store) Save(ctx context.Context, t *Turn, final *Response) (*Stored, error) {
	now := s.opts.Now()
	kept := *final
	kept.Output = withEncrypted(final.Output)
	rec := &Stored{Response: &kept, Input: withEncrypted(t.Request.Input), Owner: t.Owner, Root: final.ID,
		ChainItems: len(t.Request.Input) + len(final.Output),
		ExpiresAt:  now.Add(s.opts.Retention).UnixMilli()}
	if n := len(t.Chain); n > 0 {
		parent := t.Chain[n-1]
		rec.Root = parent.Root
		rec.ChainItems += parent.ChainItems
		rec.ChainBytes = parent.ChainBytes
	}
	if !t.Request.ShouldStore() {
		return rec, nil
	}
	raw, err := json.Marshal(rec)
	if err != nil {
		return nil, fmt.Errorf("responses: encode %s: %w", final.ID, err)
	}
	// The size counts the record itself; its own count's digits are noise.
	rec.ChainBytes += int64(len(raw))
	if raw, err = json.Marshal(rec); err != nil {
		return nil, fmt.Errorf("responses: encode %s: %w", final.ID, err)
	}
	if err := s.st.Put(ctx, recordKey(final.ID), raw, s.opts.Retention); err != nil {
		return nil, fmt.Errorf("responses: store %s: %w", final.ID, err)
	}
	hideEncrypted(rec.Input) // as decodeStored leaves a record read back
	hideEncrypted(rec.Response.Output)
	s.remember(final.ID, rec, len(raw), t.gen)
	return rec, nil
}
