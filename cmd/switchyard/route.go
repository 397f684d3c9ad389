package main

import (
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/switchyard/switchyard/config"
	"github.com/switchyard/switchyard/health"
	"github.com/switchyard/switchyard/keyring"
	"github.com/switchyard/switchyard/policy"
	"github.com/switchyard/switchyard/providers/registry"
)

// route explains a routing decision without sending anything: the rules that
// matched, the candidate targets in order with their estimated cost, and why each
// is kept or dropped. Health is assumed good (a fresh process knows no failures).
func route(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("route", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "switchyard.yaml", "configuration file")
	model := fs.String("model", "", "the alias a client sends (required)")
	keyName := fs.String("key", "", "the client key's name (default: the first key, or anonymous)")
	promptTokens := fs.Int("prompt-tokens", 1000, "estimated prompt tokens")
	maxTokens := fs.Int("max-tokens", 0, "the request's max_tokens (0: unset)")
	tags := fs.String("tags", "", "request tags, comma-separated (X-Switchyard-Tags)")
	tools := fs.Bool("tools", false, "the request carries tools")
	images := fs.Bool("images", false, "the request carries images")
	stream := fs.Bool("stream", false, "the request is streamed")
	budgetUsed := fs.Float64("budget-used", 0, "share of the key's budgets already spent (0..1), for budget_used rules")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *model == "" {
		fmt.Fprintln(stderr, "route: --model is required")
		return 2
	}
	cfg, err := config.Load(*path)
	if err != nil {
		fmt.Fprintf(stderr, "%s:\n%v\n", *path, err)
		return 1
	}
	provs, err := registry.All(cfg, registry.Options{})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	router, err := policy.NewRouter(cfg, provs, health.NewPool(nil), policy.DefaultCatalog().WithOverrides(cfg.Pricing))
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	key, team, allow, err := findKey(cfg, *keyName)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	tagList, err := policy.ParseTags(*tags)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}

	fmt.Fprintf(stdout, "Request: model %s, key %s (team %s), %d prompt tokens, max tokens %s, tags %v\n\n",
		*model, key, orDash(team), *promptTokens, orDash(itoa(*maxTokens)), tagList)
	if router.Alias(*model) == nil {
		fmt.Fprintf(stdout, "Refused: unknown model %q (404 model_not_found)\n", *model)
		return 1
	}
	if !allow(*model) {
		fmt.Fprintf(stdout, "Refused: key %q may not use model %q (403 model_not_allowed)\n", key, *model)
		return 1
	}
	d := router.Rules.Evaluate(policy.Input{Alias: *model, Key: key, Team: team, Tags: tagList,
		PromptTokens: *promptTokens, Tools: *tools, Images: *images, Stream: *stream, BudgetUsed: *budgetUsed})
	if len(d.Trace) > 0 {
		fmt.Fprintln(stdout, "Rules, in order:")
		tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
		for i, r := range d.Trace {
			verdict := "no match"
			if r.Matched {
				verdict = "MATCHED"
			}
			fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\n", i+1, r.Rule, verdict, r.Why)
		}
		tw.Flush()
		fmt.Fprintln(stdout)
	}
	if d.Deny != nil {
		fmt.Fprintf(stdout, "Refused by rule %q: %s (403 policy_violation)\n", d.Deny.Rule, d.Deny.Message)
		return 0
	}
	fmt.Fprintf(stdout, "Decision: model %s, strategy %s%s%s%s\n\n", d.Alias, orDefault(d.Strategy, router.Alias(d.Alias).StrategyName),
		restriction("providers", d.Providers), restriction("regions", d.Regions), capNote(d.MaxTokens))
	est := policy.Estimate{PromptTokens: *promptTokens, MaxTokens: *maxTokens}
	if d.MaxTokens > 0 && (est.MaxTokens == 0 || est.MaxTokens > d.MaxTokens) {
		est.MaxTokens = d.MaxTokens
	}
	plan := router.NewPlan(router.Alias(d.Alias), est, &d)
	fmt.Fprintln(stdout, "Candidates, in the order they would be tried:")
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  #\tMODEL\tTIER\tTARGET\tREGION\tEST. COST\tVERDICT")
	n := 0
	for _, c := range plan.Explain() {
		cost := "unknown"
		if c.Priced {
			cost = fmt.Sprintf("$%.6f", c.Cost)
		}
		mark := "-"
		if c.Kept {
			n++
			mark = itoa(n)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%d\t%s\t%s\t%s\t%s\n", mark, c.Alias, c.Tier, c.Target.ID, orDash(c.Target.Region), cost, c.Why)
	}
	tw.Flush()
	if n == 0 {
		fmt.Fprintln(stdout, "\nNo target can serve this request.")
	}
	return 0
}

// findKey returns the named key (or the first, or anonymous when none is set) and
// its allowlist check.
func findKey(cfg *config.Config, name string) (string, string, func(string) bool, error) {
	allowAll := func(string) bool { return true }
	if len(cfg.Keys) == 0 {
		return "anonymous", "", allowAll, nil
	}
	for _, k := range cfg.Keys {
		if name == "" || k.Name == name {
			id := &keyring.Identity{Models: k.Models}
			return k.Name, k.Team, id.Allows, nil
		}
	}
	return "", "", nil, fmt.Errorf("route: no key named %q", name)
}

func restriction(what string, set map[string]bool) string {
	if set == nil {
		return ""
	}
	var names []string
	for n := range set {
		names = append(names, n)
	}
	slices.Sort(names)
	return fmt.Sprintf(", %s limited to [%s]", what, strings.Join(names, ", "))
}

func capNote(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(", max tokens capped at %d", n)
}

func orDash(s string) string {
	if s == "" || s == "0" {
		return "-"
	}
	return s
}

func orDefault(s, def string) string {
	if s != "" {
		return s
	}
	return def
}

func itoa(n int) string { return fmt.Sprint(n) }
