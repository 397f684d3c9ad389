package policy

import (
	"strconv"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/providers"
)

func TestParseTags(t *testing.T) {
	got, err := ParseTags(" pii, eu ,", "eu,batch", "")
	if err != nil || strings.Join(got, "|") != "pii|eu|batch" {
		t.Errorf("%q, %v", got, err)
	}
	if got, err := ParseTags(""); err != nil || got != nil {
		t.Errorf("no tags: %q, %v", got, err)
	}
	// At the limits: MaxTags distinct tags of MaxTagBytes, repeated as often as a
	// list of MaxTagListBytes holds.
	var tags []string
	for i := range MaxTags {
		tags = append(tags, strings.Repeat("x", MaxTagBytes-2)+strconv.Itoa(10+i))
	}
	full := strings.Repeat(tags[0]+",", MaxTagListBytes/(MaxTagBytes+1)) // a list of repeats, as long as allowed
	got, err = ParseTags(strings.Join(tags, ","), full)
	if err != nil || len(got) != MaxTags {
		t.Errorf("at the limits: %d tags, %v", len(got), err)
	}
}

func TestParseTagsRefusesOverLimits(t *testing.T) {
	many := make([]string, MaxTags+1)
	for i := range many {
		many[i] = "t" + strconv.Itoa(i)
	}
	cases := map[string][]string{
		"too many tags":         {strings.Join(many, ",")},
		"too many across lists": {strings.Join(many[:20], ","), strings.Join(many[20:], ",")},
		"a tag too long":        {"ok," + strings.Repeat("y", MaxTagBytes+1)},
		"a list too long":       {strings.Repeat("a,", MaxTagListBytes/2+1)},
	}
	for name, lists := range cases {
		got, err := ParseTags(lists...)
		e := providers.AsError(err)
		if err == nil || e.Status != 400 || e.Code != "invalid_tags" || !strings.Contains(e.Message, "X-Switchyard-Tags") {
			t.Errorf("%s: %q, %v", name, got, err)
		}
	}
}

// BenchmarkParseTags: the work is linear in the input and bounded by the limits. A
// header of 40,000 tags (which took 10 s of CPU when deduplication was quadratic
// and unbounded) is refused after one length check.
func BenchmarkParseTags(b *testing.B) {
	list := func(n int) string {
		tags := make([]string, n)
		for i := range tags {
			tags[i] = "tag-" + strconv.Itoa(i%MaxTags)
		}
		return strings.Join(tags, ",")
	}
	for _, n := range []int{8, 100, 400, 40000} {
		l := list(n)
		b.Run(strconv.Itoa(n)+"-tags", func(b *testing.B) {
			b.SetBytes(int64(len(l)))
			b.ReportAllocs()
			for b.Loop() {
				_, _ = ParseTags(l)
			}
		})
	}
	distinct := make([]string, 40000)
	for i := range distinct {
		distinct[i] = "t" + strconv.Itoa(i)
	}
	l := strings.Join(distinct, ",")
	b.Run("40000-distinct", func(b *testing.B) {
		b.SetBytes(int64(len(l)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ParseTags(l); err == nil {
				b.Fatal("accepted")
			}
		}
	})
}
