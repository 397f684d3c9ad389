package policy

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/switchyard/switchyard/config"
)

// Rules are the configuration's policies, evaluated in order on every request.
//
// Semantics: a rule matches when every condition it sets holds (a list condition
// holds when any entry matches). Every matching rule's action applies, in order:
//   - deny refuses the request at once (403) and ends the evaluation;
//   - route changes the alias; later rules match against the new alias;
//   - providers and regions restrict the targets; several restrictions intersect;
//   - strategy replaces the alias's strategy (the last matching rule wins);
//   - max_tokens caps the request's max tokens (the smallest cap wins).
//
// A rule with final: true ends the evaluation when it matches.
type Rules struct {
	rules      []config.Policy
	usesBudget bool
	usesImages bool
}

// NewRules compiles the policies of a configuration (already validated).
func NewRules(policies []config.Policy) *Rules {
	r := &Rules{rules: policies}
	for _, p := range policies {
		if p.Match.BudgetUsed.GT != nil || p.Match.BudgetUsed.LT != nil {
			r.usesBudget = true
		}
		if p.Match.Images != nil {
			r.usesImages = true
		}
	}
	return r
}

// UsesBudget reports whether a rule matches on budget use, which costs a state read.
func (r *Rules) UsesBudget() bool { return r.usesBudget }

// UsesImages reports whether a rule matches on images: a dialect that must
// search a body for them need not otherwise.
func (r *Rules) UsesImages() bool { return r.usesImages }

// Input is what rules match on.
type Input struct {
	Alias        string
	Key, Team    string
	Tags         []string
	PromptTokens int
	Tools        bool
	Images       bool
	Stream       bool
	// BudgetUsed is the largest spent share of the applicable budgets (0..1).
	BudgetUsed float64
}

// Decision is the outcome of the rules for one request.
type Decision struct {
	Alias string
	// Matched names the rules that matched, in order.
	Matched []string
	// Deny, when set, refuses the request with Deny.Message.
	Deny *Denial
	// Providers and Regions restrict targets; nil means unrestricted.
	Providers map[string]bool
	Regions   map[string]bool
	// Restrictions names the rules that restricted targets, for error messages.
	Restrictions []string
	Strategy     string
	MaxTokens    int
	// Trace explains every rule's verdict (switchyard route).
	Trace []RuleTrace
}

// Denial is a request refused by a rule.
type Denial struct {
	Rule    string
	Message string
}

// RuleTrace is one rule's verdict and why.
type RuleTrace struct {
	Rule    string
	Matched bool
	Why     string
}

// Evaluate applies the rules to in.
func (r *Rules) Evaluate(in Input) Decision {
	d := Decision{Alias: in.Alias}
	for _, rule := range r.rules {
		in.Alias = d.Alias
		ok, why := matches(rule.Match, in)
		d.Trace = append(d.Trace, RuleTrace{Rule: rule.Name, Matched: ok, Why: why})
		if !ok {
			continue
		}
		d.Matched = append(d.Matched, rule.Name)
		a := rule.Action
		if a.Deny != "" {
			d.Deny = &Denial{Rule: rule.Name, Message: a.Deny}
			return d
		}
		if a.Route != "" {
			d.Alias = a.Route
		}
		if len(a.Providers) > 0 {
			d.Providers = intersect(d.Providers, a.Providers)
			d.Restrictions = append(d.Restrictions, rule.Name)
		}
		if len(a.Regions) > 0 {
			d.Regions = intersect(d.Regions, a.Regions)
			d.Restrictions = append(d.Restrictions, rule.Name)
		}
		if a.Strategy != "" {
			d.Strategy = a.Strategy
		}
		if a.MaxTokens > 0 && (d.MaxTokens == 0 || a.MaxTokens < d.MaxTokens) {
			d.MaxTokens = a.MaxTokens
		}
		if rule.Final {
			break
		}
	}
	return d
}

// Allows reports whether the decision's restrictions let t serve.
func (d *Decision) Allows(t *Target) bool {
	return (d.Providers == nil || d.Providers[t.ProviderName]) && (d.Regions == nil || d.Regions[t.Region])
}

func intersect(set map[string]bool, list []string) map[string]bool {
	out := map[string]bool{}
	for _, v := range list {
		if set == nil || set[v] {
			out[v] = true
		}
	}
	return out
}

// matches checks every condition, and says which one failed (or why it matched).
func matches(m config.Match, in Input) (bool, string) {
	var held []string
	check := func(cond string, ok bool) bool {
		if ok {
			held = append(held, cond)
		}
		return ok
	}
	if len(m.Alias) > 0 && !check("alias "+in.Alias, anyGlob(m.Alias, in.Alias)) {
		return false, fmt.Sprintf("alias %q not in %v", in.Alias, m.Alias)
	}
	if len(m.Key) > 0 && !check("key "+in.Key, slices.Contains(m.Key, in.Key)) {
		return false, fmt.Sprintf("key %q not in %v", in.Key, m.Key)
	}
	if len(m.Team) > 0 && !check("team "+in.Team, slices.Contains(m.Team, in.Team)) {
		return false, fmt.Sprintf("team %q not in %v", in.Team, m.Team)
	}
	if len(m.Tags) > 0 && !check("tags", anyTag(m.Tags, in.Tags)) {
		return false, fmt.Sprintf("tags %v share none of %v", in.Tags, m.Tags)
	}
	if !inRange(m.PromptTokens, float64(in.PromptTokens)) {
		return false, fmt.Sprintf("prompt tokens %d outside %s", in.PromptTokens, rangeString(m.PromptTokens))
	} else if m.PromptTokens.GT != nil || m.PromptTokens.LT != nil {
		held = append(held, fmt.Sprintf("prompt tokens %d", in.PromptTokens))
	}
	for _, b := range []struct {
		name string
		want *bool
		got  bool
	}{{"tools", m.Tools, in.Tools}, {"images", m.Images, in.Images}, {"stream", m.Stream, in.Stream}} {
		if b.want != nil && !check(fmt.Sprintf("%s=%t", b.name, b.got), *b.want == b.got) {
			return false, fmt.Sprintf("%s is %t", b.name, b.got)
		}
	}
	if !inRange(m.BudgetUsed, in.BudgetUsed) {
		return false, fmt.Sprintf("budget used %.0f%% outside %s", 100*in.BudgetUsed, rangeString(m.BudgetUsed))
	} else if m.BudgetUsed.GT != nil || m.BudgetUsed.LT != nil {
		held = append(held, fmt.Sprintf("budget used %.0f%%", 100*in.BudgetUsed))
	}
	if len(held) == 0 {
		return true, "no conditions"
	}
	return true, strings.Join(held, ", ")
}

func anyGlob(patterns []string, s string) bool {
	for _, p := range patterns {
		if ok, _ := path.Match(p, s); ok {
			return true
		}
	}
	return false
}

func anyTag(want, have []string) bool {
	for _, w := range want {
		if slices.Contains(have, w) {
			return true
		}
	}
	return false
}

func inRange(r config.Range, v float64) bool {
	return (r.GT == nil || v > *r.GT) && (r.LT == nil || v < *r.LT)
}

func rangeString(r config.Range) string {
	var parts []string
	if r.GT != nil {
		parts = append(parts, fmt.Sprintf("> %g", *r.GT))
	}
	if r.LT != nil {
		parts = append(parts, fmt.Sprintf("< %g", *r.LT))
	}
	return strings.Join(parts, " and ")
}
