package main

import (
	"flag"
	"io"

	"github.com/switchyard/switchyard/keyring"
)

const teamsUsage = `Usage: switchyard teams COMMAND [NAME] [flags]

  create NAME [--rpm N] [--tpm N] [--budget USD [--period P] [--soft S]]
                     create a team: its budget and limits hold for all its keys together
  list               every team, the configuration file's included (read-only)
  show NAME          one team, with its spend and rate-limit usage
  update NAME [the flags of create] [--no-limits] [--no-budget] [--version N]
  delete NAME        delete a team no runtime key belongs to

Every command takes --admin URL (default $SWITCHYARD_ADMIN or http://127.0.0.1:9090) and
--json. The admin token is read from $SWITCHYARD_ADMIN_TOKEN.
`

func teamsCmd(args []string, stdout, stderr io.Writer) int {
	var kf *keyFlags
	withTeamFlags := func(update bool) func(fs *flag.FlagSet) {
		return func(fs *flag.FlagSet) { kf = addTeamFlags(fs, update) }
	}
	subs := map[string]adminSub{
		"create": {flags: withTeamFlags(false), named: true, run: func(c *adminClient, name, _ string, fs *flag.FlagSet) error {
			body, err := kf.fields(given(fs), nil)
			if err != nil {
				return err
			}
			body["name"] = name
			return call(c, "POST", "/admin/teams", body, "", printTeam)
		}},
		"list": {run: func(c *adminClient, _, _ string, _ *flag.FlagSet) error {
			return call(c, "GET", "/admin/teams", nil, "", printTeamList)
		}},
		"show": {named: true, run: func(c *adminClient, _, path string, _ *flag.FlagSet) error {
			return call(c, "GET", path, nil, "", printTeam)
		}},
		"update": {flags: withTeamFlags(true), named: true, run: func(c *adminClient, _, path string, fs *flag.FlagSet) error {
			return update(c, path, kf, fs, func(t *keyring.Team) (*keyring.Key, int64) {
				return &keyring.Key{Limits: t.Limits, Budget: t.Budget}, t.Version
			}, printTeam)
		}},
		"delete": {named: true, run: func(c *adminClient, name, path string, _ *flag.FlagSet) error {
			return deleteObject(c, path, "deleted "+name)
		}},
	}
	return runAdminCmd("teams", teamsUsage, subs, args, stdout, stderr)
}

// addTeamFlags are the key flags a team has: limits and budget.
func addTeamFlags(fs *flag.FlagSet, update bool) *keyFlags {
	kf := &keyFlags{
		rpm:      fs.Int64("rpm", 0, "requests per minute of all the team's keys together (0: unlimited)"),
		tpm:      fs.Int64("tpm", 0, "tokens per minute of all the team's keys together (0: unlimited)"),
		budget:   fs.Float64("budget", 0, "budget in USD per period"),
		period:   fs.String("period", "monthly", "budget period: daily, weekly, monthly or total"),
		soft:     fs.Float64("soft", 0.8, "share of the budget at which a warning is logged"),
		metadata: metadataFlag{},
		clear:    map[string]*bool{},
	}
	if update {
		for _, f := range []string{"limits", "budget"} {
			kf.clear[f] = fs.Bool("no-"+f, false, "clear the team's "+f)
		}
		kf.version = fs.Int64("version", 0, "write only if the team is at this version (default: the version read)")
	}
	return kf
}

func printTeamList(w io.Writer, list *keyring.List[keyring.Team]) {
	tw := newTable(w, "NAME", "SOURCE", "STATUS", "LIMITS", "BUDGET")
	for _, t := range list.Data {
		tw.row(t.Name, t.Source, t.Status, limitsText(t.Limits), budgetText(t.Budget))
	}
	_ = tw.flush()
}
