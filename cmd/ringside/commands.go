package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"runtime"
	"runtime/debug"

	"github.com/ringside/ringside/edge/appliance"
	"github.com/ringside/ringside/edge/config"
	"github.com/ringside/ringside/edge/web"
)

// versionString is what `ringside version` prints:
// "ringside VERSION (commit REV, GOVERSION OS/ARCH)". REV is the first 12 hex digits of the commit,
// followed by "+modified" when go build saw uncommitted changes, or "unknown".
func versionString() string {
	rev, modified := commit, false
	if bi, ok := debug.ReadBuildInfo(); ok && rev == "" {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	switch {
	case rev == "":
		rev = "unknown"
	case len(rev) > 12:
		rev = rev[:12]
	}
	if modified {
		rev += "+modified"
	}
	return fmt.Sprintf("ringside %s (commit %s, %s %s/%s)", version, rev, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	default:
		return nil, fmt.Errorf("--log-format: want text or json, got %q", format)
	}
}

func runDaemon(ctx context.Context, args []string, stderr io.Writer, stopping <-chan struct{}) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "/etc/ringside/ringside.yaml", "config file")
	level := fs.String("log-level", "info", "debug, info, warn or error")
	format := fs.String("log-format", "text", "text or json")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log, err := newLogger(stderr, *level, *format)
	if err != nil {
		return err
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		var ps config.Problems
		if errors.As(err, &ps) {
			for _, p := range ps {
				log.Error("config problem", "problem", p.String())
			}
			return fmt.Errorf("refusing to start: %d problem(s) in %s", len(ps), *path)
		}
		return err
	}
	return runAppliance(ctx, cfg, log, stopping, nil)
}

func runAppliance(ctx context.Context, cfg *config.Config, log *slog.Logger, stopping <-chan struct{}, started func(*appliance.Appliance)) error {
	a, err := appliance.New(ctx, cfg, log, appliance.SystemClock, version)
	if err != nil {
		return err
	}
	if started != nil {
		started(a)
	}
	return a.Run(ctx, stopping)
}

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer, stopping <-chan struct{}) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "demo-state", "where the demo keeps its database and recordings")
	sipAddr := fs.String("sip", "127.0.0.1:5070", "the demo's SIP address (UDP and TCP)")
	webAddr := fs.String("web", "127.0.0.1:8080", "the demo's web page address")
	level := fs.String("log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log, err := newLogger(stderr, *level, "text")
	if err != nil {
		return err
	}
	abs, err := filepath.Abs(*dir)
	if err != nil {
		return err
	}
	cfg, err := appliance.DemoConfig(abs, *sipAddr, *webAddr)
	if err != nil {
		return err
	}
	return runAppliance(ctx, cfg, log, stopping, func(a *appliance.Appliance) {
		go func() {
			// The simulator's calls end when ctx does (SIGINT); on SIGTERM the appliance drains them.
			if err := a.Simulate(ctx); err != nil {
				log.Error("demo traffic stopped", "err", err)
			}
		}()
		go func() {
			select {
			case <-a.Ready():
			case <-ctx.Done():
				return
			}
			fmt.Fprintf(stdout, "Ringside demo: %s\n", cfg.Site.Name)
			if code := a.Web.SetupCode(); code != "" {
				fmt.Fprintf(stdout, "  web page:  http://%s/ (first visit: choose the admin password)\n", a.WebAddr())
				fmt.Fprintf(stdout, "  setup code: %s (asked only from another machine; also in %s)\n",
					code, filepath.Join(cfg.StateDir, web.SetupCodeFile))
			} else {
				fmt.Fprintf(stdout, "  web page:  http://%s/ (log in as %s)\n", a.WebAddr(), cfg.Web.AdminUser)
			}
			fmt.Fprintf(stdout, "  API:       http://%s/api/v1/live (documented in edge/web/openapi.yaml)\n", a.WebAddr())
			fmt.Fprintf(stdout, "  database:  %s\n", a.Store.Path())
			fmt.Fprintf(stdout, "  SIP:       %v (simulated callers and agents' phones)\n", cfg.SIP.Listen)
			fmt.Fprintf(stdout, "  log:       this terminal (stderr)\n")
			fmt.Fprintf(stdout, "  stop:      Ctrl-C\n")
		}()
	})
}

// loadConfig reads and validates the config file, then runs the checks the appliance makes before
// it starts (appliance.Check: WAV files, listen addresses, analog line support). run and
// check-config both load through here, so whatever run refuses, check-config reports.
func loadConfig(path string) (*config.Config, error) {
	cfg, err := config.Load(path)
	if err != nil {
		return nil, err
	}
	if err := appliance.Check(cfg); err != nil {
		return nil, err
	}
	return cfg, nil
}

func checkConfig(args []string, stdout io.Writer) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: ringside check-config FILE")
	}
	cfg, err := loadConfig(args[0])
	if err != nil {
		var ps config.Problems
		if errors.As(err, &ps) {
			for _, p := range ps {
				fmt.Fprintln(stdout, p.String())
			}
			return fmt.Errorf("%d problem(s) in %s", len(ps), args[0])
		}
		return err
	}
	fmt.Fprintf(stdout, "%s: ok (site %q, %d lines, %d tracking numbers, %d queues, %d agents)\n",
		args[0], cfg.Site.Name, len(cfg.Lines), len(cfg.TrackingNumbers), len(cfg.Queues), len(cfg.Agents))
	return nil
}
