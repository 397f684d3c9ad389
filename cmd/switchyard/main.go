// Command switchyard is a multi-cloud LLM routing proxy with an OpenAI-compatible API.
package main

import (
	"fmt"
	"io"
	"os"
)

const usage = `switchyard: one OpenAI-compatible endpoint in front of every LLM cloud.

Usage:
  switchyard serve    --config FILE   serve the API (and the admin port)
  switchyard validate --config FILE   check a configuration; every problem with its key path
  switchyard route    --config FILE --model ALIAS [--key NAME] [--prompt-tokens N] [--tags a,b]
                                      explain a routing decision without sending anything
  switchyard demo     [--exit]        run against emulated clouds on loopback, no account needed
  switchyard keys     create|list|show|update|rotate|revoke ...
                                      client keys at run time, through the admin API
  switchyard teams    create|list|show|update|delete ...
                                      teams at run time (budgets and limits of their keys)
  switchyard version                  print the version

Run "switchyard COMMAND -h" for a command's flags.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return serve(rest, stderr)
	case "validate":
		return validate(rest, stdout, stderr)
	case "route":
		return route(rest, stdout, stderr)
	case "demo":
		return demo(rest, stdout, stderr)
	case "keys":
		return keysCmd(rest, stdout, stderr)
	case "teams":
		return teamsCmd(rest, stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "switchyard", version())
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "switchyard: unknown command %q\n\n%s", cmd, usage)
	return 2
}
