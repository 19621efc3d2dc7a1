// Command ringside is the call-tracking appliance. See README.md.
//
//	ringside run --config FILE   the daemon
//	ringside demo [--dir DIR]    the appliance on embedded defaults, with simulated traffic
//	ringside check-config FILE   print every problem in a config file; exit 1 if there is one
//	ringside version             print the version and the commit it was built from
//
// SIGTERM drains live calls (up to drain_timeout) and exits 0; SIGINT stops at once. Any failure
// exits 1, so systemd's Restart=on-failure brings the box back.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	_ "time/tzdata" // the box may have no zoneinfo; periods are cut in the site's zone
)

// version and commit are set at build time: -ldflags "-X main.version=1.2.3 -X main.commit=$(git
// rev-parse HEAD)" (cmd/ringside-package does). Without commit, the revision go build stamps from
// git is used; with neither (-buildvcs=false, or no git), `ringside version` says "unknown".
var (
	version = "dev"
	commit  = ""
)

func main() {
	// SIGINT cancels ctx: stop now. SIGTERM closes stopping: drain, then stop.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	stopping := make(chan struct{})
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	go func() {
		<-term
		close(stopping)
	}()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, stopping); err != nil {
		fmt.Fprintln(os.Stderr, "ringside:", err)
		os.Exit(1)
	}
}

const usage = `usage:
  ringside run --config FILE    run the appliance
  ringside demo [--dir DIR]     run it on embedded defaults with simulated calls
  ringside check-config FILE    check a config file and print every problem
  ringside version              print the version
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer, stopping <-chan struct{}) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("no command given")
	}
	switch args[0] {
	case "run":
		return runDaemon(ctx, args[1:], stderr, stopping)
	case "demo":
		return runDemo(ctx, args[1:], stdout, stderr, stopping)
	case "check-config":
		return checkConfig(args[1:], stdout)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, versionString())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", args[0])
	}
}
