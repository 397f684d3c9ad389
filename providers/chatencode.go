package providers

import "encoding/json"

// encodeChat is json.Marshal(c), without the second pass encoding/json makes over
// what every MarshalJSON returns (it validates and compacts it): each message's
// content goes to encoding/json as a plain value (a string, the parts, or nil) in
// a field that shadows Message.Content, so it is written once. For an agent-sized
// request translated from another dialect that second pass was a fifth of the
// translation. The bytes are json.Marshal's (FuzzEncodeChat).
func encodeChat(c *ChatRequest) ([]byte, error) {
	if c == nil || c.Messages == nil {
		return json.Marshal(c)
	}
	msgs := make([]wireMessage, len(c.Messages))
	for i := range c.Messages {
		m := &c.Messages[i]
		msgs[i] = wireMessage{Role: m.Role, Content: m.Content.value(), Message: m}
	}
	return json.Marshal(wireChat{Model: c.Model, Messages: msgs, ChatRequest: c})
}

// wireChat and wireMessage shadow the members of ChatRequest and Message that
// would otherwise go through Content.MarshalJSON (encoding/json takes the
// shallower of two fields with one name), and the members before them, so that
// the members keep their order.
type wireChat struct {
	Model    string        `json:"model"`
	Messages []wireMessage `json:"messages"`
	*ChatRequest
}

type wireMessage struct {
	Role    string `json:"role"`
	Content any    `json:"content"`
	*Message
}

// value is the content as encoding/json writes it.
func (c Content) value() any {
	switch {
	case c.IsParts:
		if c.Parts == nil {
			return []ContentPart{}
		}
		return c.Parts
	case c.Null:
		return nil
	default:
		return c.Text
	}
}
