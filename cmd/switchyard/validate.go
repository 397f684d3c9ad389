package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/switchyard/switchyard/config"
	"github.com/switchyard/switchyard/state"
)

func validate(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "switchyard.yaml", "configuration file")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, err := config.Load(*path)
	if err == nil && cfg.State.Driver == "redis" {
		// The URL's form is checked by the parser the store uses, not only its scheme.
		if uerr := state.CheckURL(cfg.State.URL.Reveal()); uerr != nil {
			err = &config.Error{Problems: []config.Problem{{Path: "state.url", Message: uerr.Error()}}}
		}
	}
	if err != nil {
		var cerr *config.Error
		if errors.As(err, &cerr) {
			for _, p := range cerr.Problems {
				fmt.Fprintln(stderr, p)
			}
			fmt.Fprintf(stderr, "%s: %d problem(s)\n", *path, len(cerr.Problems))
			return 1
		}
		fmt.Fprintf(stderr, "%s: %v\n", *path, err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: OK (%d providers, %d models, %d keys)\n", *path, len(cfg.Providers), len(cfg.Models), len(cfg.Keys))
	return 0
}
