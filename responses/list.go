package responses

import (
	"context"
	"net/url"
	"strconv"
)

// ListParams are the query parameters of GET /v1/responses/{id}/input_items.
type ListParams struct {
	// Limit is 1 to 100; default 20.
	Limit int
	// Order is "asc" or "desc" (newest first, the default).
	Order string
	// After is an item id: the page starts after it, in Order.
	After string
}

// ParseListParams reads limit, order, after and include (include[] as the SDKs
// send it); only message.input_image.image_url may be included, and it changes
// nothing here (image URLs are always listed).
func ParseListParams(q url.Values) (ListParams, error) {
	p := ListParams{Limit: 20, Order: "desc", After: q.Get("after")}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 100 {
			return p, invalid("limit", "Invalid 'limit': expected an integer between 1 and 100, got '%s'.", s)
		}
		p.Limit = n
	}
	switch o := q.Get("order"); o {
	case "":
	case "asc", "desc":
		p.Order = o
	default:
		return p, invalid("order", "Invalid value: '%s'. Supported values are: 'asc' and 'desc'.", o)
	}
	for _, key := range []string{"include", "include[]"} {
		for _, s := range q[key] {
			if s != "message.input_image.image_url" {
				return p, unsupported("include", "Include '%s' is not supported by this gateway.", s)
			}
		}
	}
	return p, nil
}

// InputItems lists the items response id was generated from, as OpenAI lists them:
// the whole conversation before it (every earlier turn's input and output items)
// and its own input, in p.Order, one page of p.Limit.
func (s *Store) InputItems(ctx context.Context, id string, owner Owner, p ListParams) (*ItemList, error) {
	chain, _, err := s.load(ctx, id, owner, false)
	if err != nil {
		return nil, err
	}
	var all []Item
	last := len(chain) - 1
	for i, rec := range chain {
		all = append(all, rec.Input...)
		if i < last {
			all = append(all, rec.Response.Output...)
		}
	}
	return page(all, p)
}

// page cuts one page out of items (oldest first).
func page(items []Item, p ListParams) (*ItemList, error) {
	if p.Limit <= 0 {
		p.Limit = 20
	}
	ordered := items
	if p.Order != "asc" {
		ordered = make([]Item, len(items))
		for i, it := range items {
			ordered[len(items)-1-i] = it
		}
	}
	start := 0
	if p.After != "" {
		start = -1
		for i := range ordered {
			if ordered[i].ID == p.After {
				start = i + 1
				break
			}
		}
		if start < 0 {
			return nil, invalid("after", "No item with id '%s' in this response's input items.", p.After)
		}
	}
	end := min(start+p.Limit, len(ordered))
	list := &ItemList{Object: "list", Data: ordered[start:end], HasMore: end < len(ordered)}
	if len(list.Data) > 0 {
		first, lastID := list.Data[0].ID, list.Data[len(list.Data)-1].ID
		list.FirstID, list.LastID = &first, &lastID
	}
	return list, nil
}
