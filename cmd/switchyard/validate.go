package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/switchyard/switchyard/config"
)

func validate(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "switchyard.yaml", "configuration file")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, err := config.Load(*path)
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
