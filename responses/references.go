package responses

import (
	"context"
	"errors"
	"strconv"
)

// Item references. A client that keeps its own history may send earlier items
// back by id instead of whole: the Vercel AI SDK resends response.messages with
// {"type":"item_reference","id":…} for every item the API stored, and the OpenAI
// Agents SDK sends its reasoning items back by id, without their encrypted
// content. Every item id this gateway mints names the response that holds it
// (newItemID), so a reference is resolved by reading that response, under the same
// rule as previous_response_id: only a response the key (or, with share_team, its
// team) may read, not deleted, within retention. Anything else is "not found",
// whoever owns it.

// resolve replaces the references of input by the items they name: an
// item_reference by its item (a 400 when it cannot be read), a reasoning item sent
// without encrypted_content by the stored one when there is one (else it keeps
// its summary). Each response named is read once.
func (s *Store) resolve(ctx context.Context, input []Item, owner Owner) error {
	var read map[string]*Stored
	for i := range input {
		it := &input[i]
		isRef := it.Type == ItemReference
		if !isRef && (it.Type != ItemReasoning || it.Encrypted != "") {
			continue
		}
		found, err := s.lookupItem(ctx, it.ID, owner, &read)
		switch {
		case err != nil:
			return err
		case found != nil:
			*it = *found
		case isRef:
			e := invalid("input["+strconv.Itoa(i)+"].id", "Item with id '%s' not found.", it.ID)
			e.Status, e.Code = 404, "not_found"
			return e
		}
	}
	return nil
}

// lookupItem finds item id in the response its id names; nil when there is no
// such item the owner may read.
func (s *Store) lookupItem(ctx context.Context, id string, owner Owner, read *map[string]*Stored) (*Item, error) {
	respID, ok := responseOfItem(id)
	if !ok {
		return nil, nil
	}
	if *read == nil {
		*read = map[string]*Stored{}
	}
	rec, seen := (*read)[respID]
	if !seen {
		var err error
		rec, err = s.head(ctx, respID, owner)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return nil, err
		}
		(*read)[respID] = rec
	}
	if rec == nil {
		return nil, nil
	}
	for _, list := range [][]Item{rec.Input, rec.Response.Output} {
		for j := range list {
			if list[j].ID == id {
				found := list[j]
				return &found, nil
			}
		}
	}
	return nil, nil
}

// withEncrypted is items with encrypted_content kept, for the store.
func withEncrypted(items []Item) []Item {
	out := make([]Item, len(items))
	copy(out, items)
	for i := range out {
		out[i].showEncrypted = out[i].Type == ItemReasoning
	}
	return out
}

// hideEncrypted stops items read from the store from showing encrypted_content.
func hideEncrypted(items []Item) {
	for i := range items {
		items[i].showEncrypted = false
	}
}
