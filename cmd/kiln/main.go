// Command kiln builds production images for Python services from their lock
// file, without a container daemon. This file only parses flags and wires the
// packages under internal/.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// version is set at link time (-ldflags "-X main.version=...").
var version = "dev"

// exitError carries the exit code a failure maps to: 2 for bad usage or bad
// input, 1 when the job ran and found problems.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func badInput(err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: 2, err: err}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := &cobra.Command{
		Use:           "kiln",
		Short:         "Build production images for Python services from their lock file, with no daemon",
		Long:          "kiln reads uv.lock, picks the right prebuilt wheel for each target platform, installs them\ninto a venv layer over a Debian-slim Python base, adds the application in its own layer and\nwrites a reproducible OCI image to a registry, an OCI layout, a docker archive or the Docker engine.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return badInput(err) })
	root.AddCommand(newBuildCommand(), newLockCommand(), newVerifyCommand(), newVersionCommand())
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "kiln:", err)
		var ee *exitError
		if errors.As(err, &ee) {
			os.Exit(ee.code)
		}
		// Cobra reports unknown commands and arguments as plain errors: bad usage.
		os.Exit(2)
	}
}

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print kiln's version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintln(cmd.OutOrStdout(), version)
		},
	}
}
