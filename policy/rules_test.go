package policy

import (
	"strings"
	"testing"

	"github.com/switchyard/switchyard/config"
)

func f(v float64) *float64 { return &v }
func b(v bool) *bool       { return &v }

func TestRulesSemantics(t *testing.T) {
	rules := NewRules([]config.Policy{
		{Name: "no-images-for-batch", Match: config.Match{Key: []string{"batch"}, Images: b(true)},
			Action: config.Action{Deny: "Images are not allowed for batch keys"}},
		{Name: "long-prompts", Match: config.Match{Alias: []string{"gpt-4o*"}, PromptTokens: config.Range{GT: f(100000)}},
			Action: config.Action{Route: "gpt-4.1"}},
		{Name: "eu-residency", Match: config.Match{Tags: []string{"pii"}}, Action: config.Action{Regions: []string{"westeurope", "eu-central-1"}}},
		{Name: "eu-azure", Match: config.Match{Team: []string{"eu"}}, Action: config.Action{Regions: []string{"westeurope"}, MaxTokens: 2048}},
		{Name: "frugal", Match: config.Match{BudgetUsed: config.Range{GT: f(0.8)}}, Action: config.Action{Strategy: "cheapest", MaxTokens: 512}},
		{Name: "after-route", Match: config.Match{Alias: []string{"gpt-4.1"}}, Action: config.Action{Strategy: "fastest"}, Final: true},
		{Name: "never", Match: config.Match{}, Action: config.Action{Strategy: "weighted"}},
	})
	d := rules.Evaluate(Input{Alias: "gpt-4o", Key: "batch", Images: true})
	if d.Deny == nil || d.Deny.Rule != "no-images-for-batch" || len(d.Trace) != 1 {
		t.Errorf("deny: %+v", d)
	}
	d = rules.Evaluate(Input{Alias: "gpt-4o", Key: "app", Team: "eu", Tags: []string{"pii"}, PromptTokens: 150000, BudgetUsed: 0.9})
	if d.Alias != "gpt-4.1" || d.Strategy != "fastest" || d.MaxTokens != 512 ||
		len(d.Regions) != 1 || !d.Regions["westeurope"] || strings.Join(d.Matched, ",") != "long-prompts,eu-residency,eu-azure,frugal,after-route" {
		t.Errorf("composition: %+v", d)
	}
	if d.Trace[len(d.Trace)-1].Rule != "after-route" {
		t.Errorf("final rule did not stop evaluation: %+v", d.Trace)
	}
	d = rules.Evaluate(Input{Alias: "claude", Key: "app", PromptTokens: 10})
	if d.Alias != "claude" || d.Strategy != "weighted" || d.Regions != nil || d.Trace[1].Why != `alias "claude" not in [gpt-4o*]` {
		t.Errorf("no match: %+v", d)
	}
	if !rules.UsesBudget() || !rules.UsesImages() {
		t.Error("budget_used or images rule not noticed")
	}
	if other := NewRules([]config.Policy{{Name: "tools", Match: config.Match{Tools: b(true)}}}); other.UsesImages() || other.UsesBudget() {
		t.Error("a rule on tools taken for one on images or budgets")
	}
}

func TestDecisionRestrictsTargets(t *testing.T) {
	r := router(t, tiers)
	rules := NewRules([]config.Policy{{Name: "only-b-or-d", Action: config.Action{Providers: []string{"b", "d"}}}})
	d := rules.Evaluate(Input{Alias: "main"})
	p := r.NewPlan(r.Alias("main"), Estimate{}, &d)
	if got := sequence(p); got != "b,d" {
		t.Errorf("restricted plan %q", got)
	}
	d = NewRules([]config.Policy{{Name: "nowhere", Action: config.Action{Providers: []string{"b"}}},
		{Name: "and-nowhere", Action: config.Action{Providers: []string{"d"}}}}).Evaluate(Input{Alias: "main"})
	if p := r.NewPlan(r.Alias("main"), Estimate{}, &d); p.Eligible() {
		t.Error("disjoint restrictions left targets")
	}
}
