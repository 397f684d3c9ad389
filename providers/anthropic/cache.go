package anthropic

import "github.com/switchyard/switchyard/providers"

// Prompt caching (https://platform.claude.com/docs/en/build-with-claude/prompt-caching):
// a cache_control breakpoint on a tool, a system block or a message content block
// caches the prompt up to it. The client's cache_control on content parts and
// tools (the convention OpenAI-compatible clients use for Anthropic) is carried to
// the block the part becomes, ttl included.

// systemBlocks are the text blocks of one system or developer message.
func systemBlocks(c providers.Content) []block {
	if !c.IsParts {
		if c.Text == "" {
			return nil
		}
		return []block{{Type: "text", Text: c.Text}}
	}
	var out []block
	for _, p := range c.Parts {
		if p.Type == "text" && p.Text != "" {
			out = append(out, block{Type: "text", Text: p.Text, CacheControl: p.CacheControl})
		}
	}
	return out
}

// systemPrompt is the system member: the texts joined with "\n" as one string,
// as before, unless a block carries cache_control, which only the block form
// can hold.
func systemPrompt(blocks []block) any {
	if len(blocks) == 0 {
		return nil
	}
	cached := false
	n := 0
	for _, b := range blocks {
		cached = cached || b.CacheControl != nil
		n += len(b.Text) + 1
	}
	if cached {
		return blocks
	}
	buf := make([]byte, 0, n)
	for i, b := range blocks {
		if i > 0 {
			buf = append(buf, '\n')
		}
		buf = append(buf, b.Text...)
	}
	return string(buf)
}
