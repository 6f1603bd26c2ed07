package main

import (
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"text/tabwriter"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/spf13/cobra"

	"github.com/kiln-build/kiln/internal/imageref"
	"github.com/kiln-build/kiln/internal/verify"
)

func newVerifyCommand() *cobra.Command {
	var (
		asJSON   bool
		junit    string
		platform string
		allow    []string
	)
	cmd := &cobra.Command{
		Use:   "verify IMAGE",
		Short: "Check that an image is fit to ship, without running it",
		Long: `Verify reads any image (registry, oci:, docker-archive:, docker-daemon:) and checks, without an
engine: it runs as a non-root user that exists; CMD or ENTRYPOINT in exec form; a HEALTHCHECK; no
development or test packages in site-packages; no build toolchain; no secrets in any layer,
including files later layers delete or overwrite, nor in the config's env, labels and history;
every ELF file's shared libraries resolve inside the image; the base is pinned by digest; size and
wasted bytes; application and venv not writable by the runtime user.

Exit status: 0 when every check passes (warnings allowed), 1 when one fails, 2 when the image
cannot be read. Running the image (--run) is not implemented yet.`,
		Example: `  kiln verify docker-daemon:myservice:1.0
  kiln verify oci:./out:1.0 --json
  kiln verify registry.example.com/acme/api:1.4 --junit verify.xml --allow secrets:/app/tests/fixtures/*`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref, err := imageref.Parse(args[0])
			if err != nil {
				return badInput(err)
			}
			src, err := imageref.Read(cmd.Context(), ref)
			if err != nil {
				return badInput(err)
			}
			img := src.Image
			if img == nil {
				p, err := v1.ParsePlatform(platform)
				if err != nil {
					return badInput(fmt.Errorf("--platform %s: %w", platform, err))
				}
				if img, err = src.ForPlatform(*p); err != nil {
					return badInput(err)
				}
			}
			results, err := verify.Static(img, verify.Config{Allow: allow})
			if err != nil {
				return badInput(fmt.Errorf("%s: %w", args[0], err))
			}
			if junit != "" {
				if err := writeJUnit(junit, args[0], results); err != nil {
					return err
				}
			}
			if err := printJSONOrText(cmd, asJSON, results, func() {
				w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "CHECK\tRESULT\tDETAIL")
				for _, r := range results {
					fmt.Fprintf(w, "%s\t%s\t%s\n", r.Check, r.Status, r.Detail)
				}
				w.Flush()
			}); err != nil {
				return err
			}
			for _, r := range results {
				if r.Status == verify.StatusFail {
					return &exitError{code: 1, err: fmt.Errorf("%s: check %s failed", args[0], r.Check)}
				}
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&asJSON, "json", false, "print the results as JSON")
	fl.StringVar(&junit, "junit", "", "also write the results as a JUnit XML file, for CI systems")
	fl.StringVar(&platform, "platform", "linux/amd64", "the image of a multi-platform index to check")
	fl.StringArrayVar(&allow, "allow", nil, "accepted exception CHECK:SUBJECT (a path glob or a name), e.g. secrets:/app/tests/*; repeatable")
	return cmd
}

type junitSuite struct {
	XMLName  xml.Name    `xml:"testsuite"`
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
	Output    string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
}

// writeJUnit writes the results atomically as one JUnit test suite.
func writeJUnit(path, image string, results []verify.Result) error {
	s := junitSuite{Name: "kiln verify " + image, Tests: len(results)}
	for _, r := range results {
		c := junitCase{Name: r.Check, Classname: "kiln.verify", Output: r.Detail}
		switch r.Status {
		case verify.StatusFail:
			c.Failure = &junitMessage{Message: r.Detail}
			s.Failures++
		case verify.StatusSkip:
			c.Skipped = &junitMessage{Message: r.Detail}
			s.Skipped++
		}
		s.Cases = append(s.Cases, c)
	}
	data, err := xml.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".junit-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append([]byte(xml.Header), append(data, '\n')...)); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
