package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/kiln-build/kiln/internal/build"
	"github.com/kiln-build/kiln/internal/pkglock"
)

func newLockCommand() *cobra.Command {
	var (
		base      string
		platforms []string
		update    bool
		cf        *configFlags
	)
	cmd := &cobra.Command{
		Use:   "lock [DIR]",
		Short: "Resolve the Debian packages of a project (and of a deb: base) into kiln.lock",
		Long: `Lock resolves [tool.kiln] packages, and the packages of a deb:SUITE base, against Debian's
signed archive for every platform, and writes the exact set (name, version, architecture,
sha256, URL) to DIR/kiln.lock. Builds install exactly what kiln.lock says, or fail naming the
package the archive no longer serves. Without --update, entries already in kiln.lock are kept.`,
		Example: `  kiln lock .                      # add what is missing to kiln.lock
  kiln lock . --update             # resolve everything again against the archive today`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			sess, err := newSession(cmd, dir, cf, base, platforms)
			if err != nil {
				return err
			}
			if update {
				sess.lock.Platforms = nil
			}
			sess.opts.UpdateLock = update
			if _, err := build.MakePlan(cmd.Context(), sess.opts); err != nil {
				return badInput(err)
			}
			if err := sess.saveLock(); err != nil {
				return err
			}
			for _, pl := range sess.lock.Platforms {
				fmt.Fprintf(cmd.OutOrStdout(), "%s\t%s\t%s\t%d packages\n", pl.Platform, pl.Layer, pl.Base, len(pl.Packages))
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&base, "base", "", "base image reference (overrides base in [tool.kiln])")
	fl.StringSliceVar(&platforms, "platform", nil, "target platforms (default: [tool.kiln] platforms, else linux/amd64)")
	fl.BoolVar(&update, "update", false, "resolve every entry again instead of keeping those in "+pkglock.FileName)
	cf = addConfigFlags(fl)
	return cmd
}
