// Command ringside is the call-tracking appliance: see README.md.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "ringside:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	return fmt.Errorf("not implemented yet")
}
