package bedrock

import "github.com/switchyard/switchyard/providers"

// Prompt caching (https://docs.aws.amazon.com/bedrock/latest/userguide/prompt-caching.html):
// Converse marks a cache checkpoint with a cachePoint block placed after the
// content it caches, in system, messages or tools. The client's cache_control on a
// content part or a tool (Anthropic's convention) becomes a cachePoint right after
// the block the part becomes, its ttl kept.

func cachePoint(cc *providers.CacheControl) *cachePointBlock {
	return &cachePointBlock{Type: "default", TTL: cc.TTL}
}
