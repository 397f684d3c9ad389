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
	log, err := telemetry.NewLogger(cfg.Log.Level, cfg.Log.Format)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer log.Sync()
	srv, err := proxy.New(proxy.Options{Config: cfg, Logger: log, Version: version()})
	if err != nil {
		log.Error("startup failed", zap.Error(err))
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go reloadOnSIGHUP(ctx, srv, *path, log)
	if err := srv.ListenAndServe(ctx); err != nil {
		log.Error("serve failed", zap.Error(err))
		return 1
	}
	return 0
}

// reloadOnSIGHUP re-reads the configuration file on SIGHUP; an invalid file is
// rejected and the running configuration stays in force.
func reloadOnSIGHUP(ctx context.Context, srv *proxy.Server, path string, log *zap.Logger) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			cfg, err := config.Load(path)
			if err == nil {
				err = srv.Reload(cfg)
			} else {
				srv.RejectReload()
			}
			if err != nil {
				log.Error("configuration reload rejected; the previous configuration stays in force", zap.Error(err))
				continue
			}
			log.Info("configuration reloaded", zap.String("config", path))
		}
	}
}
