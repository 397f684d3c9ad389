package providers

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// RetryAfter reads how long an upstream asked us to wait, from the first of:
// retry-after-ms (Azure OpenAI, OpenAI), Retry-After in seconds or as an HTTP date
// (RFC 9110), x-ratelimit-reset-requests / x-ratelimit-reset-tokens (OpenAI's "6m0s"
// durations, of the limit whose remaining count is 0; the larger when unknown). It returns 0 when none
// is present or parseable.
func RetryAfter(h http.Header, now time.Time) time.Duration {
	if v := h.Get("Retry-After-Ms"); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms > 0 {
			return wait(ms, time.Millisecond)
		}
	}
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if s, err := strconv.ParseFloat(v, 64); err == nil && s > 0 {
			return wait(s, time.Second)
		}
		if t, err := http.ParseTime(v); err == nil && t.After(now) {
			return min(t.Sub(now), longestWait)
		}
	}
	var d time.Duration
	for _, kind := range []string{"Requests", "Tokens"} {
		if rem := h.Get("X-Ratelimit-Remaining-" + kind); rem != "" && rem != "0" {
			continue // this limit is not the exhausted one
		}
		if v := h.Get("X-Ratelimit-Reset-" + kind); v != "" {
			if parsed, err := time.ParseDuration(v); err == nil && parsed > d {
				d = parsed
			}
		}
	}
	return min(d, longestWait)
}

// longestWait bounds what an upstream may ask for: a larger number of seconds
// would overflow a Duration (negative). Cooldowns stop far below it anyway
// (resilience.max_cooldown).
const longestWait = 24 * time.Hour

func wait(v float64, unit time.Duration) time.Duration {
	if v >= float64(longestWait/unit) {
		return longestWait
	}
	return time.Duration(v * float64(unit))
}
