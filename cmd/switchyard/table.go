package main

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/switchyard/switchyard/keyring"
)

// table prints aligned columns; an empty cell is "-".
type table struct{ tw *tabwriter.Writer }

func newTable(w io.Writer, header ...string) *table {
	t := &table{tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)}
	t.row(header...)
	return t
}

func (t *table) row(cells ...string) {
	for i, c := range cells {
		if c == "" {
			cells[i] = "-"
		}
	}
	fmt.Fprintln(t.tw, strings.Join(cells, "\t"))
}

func (t *table) flush() error { return t.tw.Flush() }

func limitsText(l *keyring.Limits) string {
	if l == nil {
		return ""
	}
	var parts []string
	if l.RPM > 0 {
		parts = append(parts, "rpm "+strconv.FormatInt(l.RPM, 10))
	}
	if l.TPM > 0 {
		parts = append(parts, "tpm "+strconv.FormatInt(l.TPM, 10))
	}
	return strings.Join(parts, ", ")
}

func budgetText(b *keyring.Budget) string {
	if b == nil {
		return ""
	}
	return fmt.Sprintf("$%s %s", money(b.USD), b.Period)
}

func money(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func timeText(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// printKey prints one key as "field: value" lines, the secret last when the
// answer has one.
func printKey(w io.Writer, k *keyring.Key) {
	t := newTable(w, "name:", k.Name)
	t.row("source:", k.Source)
	t.row("status:", k.Status)
	if k.Source == keyring.SourceRuntime {
		t.row("prefix:", k.Prefix)
	}
	t.row("team:", k.Team)
	t.row("models:", strings.Join(k.Models, ", "))
	t.row("limits:", limitsText(k.Limits))
	t.row("budget:", budgetText(k.Budget))
	if k.Source == keyring.SourceRuntime {
		t.row("expires_at:", timeText(k.ExpiresAt))
		t.row("metadata:", metadataText(k))
		t.row("version:", strconv.FormatInt(k.Version, 10))
		t.row("created_at:", timeText(k.CreatedAt))
		t.row("updated_at:", timeText(k.UpdatedAt))
	}
	for _, r := range k.Retired {
		t.row("retired:", r.Prefix+" valid until "+r.ValidUntil.UTC().Format(time.RFC3339))
	}
	usageRows(t, k.Spend, k.RateLimits)
	if k.Secret != "" {
		t.row("key:", k.Secret)
	}
	_ = t.flush()
}

func printTeam(w io.Writer, tm *keyring.Team) {
	t := newTable(w, "name:", tm.Name)
	t.row("source:", tm.Source)
	t.row("status:", tm.Status)
	t.row("limits:", limitsText(tm.Limits))
	t.row("budget:", budgetText(tm.Budget))
	if tm.Source == keyring.SourceRuntime {
		t.row("version:", strconv.FormatInt(tm.Version, 10))
	}
	usageRows(t, tm.Spend, tm.RateLimits)
	_ = t.flush()
}

func usageRows(t *table, sp *keyring.Spend, rl *keyring.RateLimits) {
	if sp != nil {
		resets := "never (total)"
		if sp.ResetsAt != nil {
			resets = sp.ResetsAt.UTC().Format(time.RFC3339)
		}
		t.row("spend:", fmt.Sprintf("$%s of $%s (%s %s), $%s left, $%s in flight; resets %s", money(sp.USD),
			money(sp.LimitUSD), sp.Period, sp.PeriodID, money(sp.RemainingUSD), money(sp.ReservedUSD), resets))
	}
	if rl != nil {
		for _, w := range []struct {
			name string
			win  *keyring.Window
		}{{"rpm:", rl.RPM}, {"tpm:", rl.TPM}} {
			if w.win != nil {
				t.row(w.name, fmt.Sprintf("%d of %d used this minute, %d left", w.win.Used, w.win.Limit, w.win.Remaining))
			}
		}
	}
}

func metadataText(k *keyring.Key) string {
	names := make([]string, 0, len(k.Metadata))
	for n := range k.Metadata {
		names = append(names, n)
	}
	sort.Strings(names)
	parts := make([]string, 0, len(names))
	for _, n := range names {
		parts = append(parts, n+"="+string(k.Metadata[n]))
	}
	return strings.Join(parts, " ")
}
