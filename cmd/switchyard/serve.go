package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"go.uber.org/zap"

	"github.com/switchyard/switchyard/config"
	"github.com/switchyard/switchyard/proxy"
	"github.com/switchyard/switchyard/telemetry"
)

func serve(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "switchyard.yaml", "configuration file")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, err := config.Load(*path)
	if err != nil {
		fmt.Fprintf(stderr, "%s:\n%v\n", *path, err)
		return 1
	}
	log, stopLog, err := telemetry.NewLogger(cfg.Log.Level, cfg.Log.Format, cfg.Log.FlushInterval)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer stopLog()
	load := func() (*config.Config, error) { return config.Load(*path) }
	srv, err := proxy.New(proxy.Options{Config: cfg, Logger: log, Version: version(), Load: load, ConfigPath: *path})
	if err != nil {
		log.Error("startup failed", zap.Error(err))
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go reloadOnSIGHUP(ctx, srv)
	if err := config.Watch(*path, func() { _ = srv.Reload() }); err != nil {
		log.Warn("the configuration file is not watched; reload with SIGHUP or POST /admin/reload", zap.Error(err))
	}
	if err := srv.ListenAndServe(ctx); err != nil {
		log.Error("serve failed", zap.Error(err))
		return 1
	}
	return 0
}

// reloadOnSIGHUP reloads the configuration on SIGHUP; Reload logs the outcome.
func reloadOnSIGHUP(ctx context.Context, srv *proxy.Server) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			_ = srv.Reload()
		}
	}
}
