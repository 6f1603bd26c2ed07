package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kiln-build/kiln/internal/build"
	"github.com/kiln-build/kiln/internal/imageref"
	"github.com/kiln-build/kiln/internal/publish"
)

type buildFlags struct {
	base      string
	platforms []string
	tag       string
	outputs   []string
	push      bool
	json      bool
	plan      bool
}

func newBuildCommand() *cobra.Command {
	var f buildFlags
	var cf *configFlags
	cmd := &cobra.Command{
		Use:   "build [DIR]",
		Short: "Build an image from a project directory and its lock file",
		Long: `Build reads DIR/pyproject.toml ([project] and [tool.kiln]) and the project's lock (uv.lock,
pylock.toml or a hashed requirements file, or --lock FILE), resolves the base image for each
platform, installs [tool.kiln] packages from Debian's archive (kiln.lock pins them), and writes
the image to every --output (and to --tag with --push).

Image references: REGISTRY/REPO[:TAG][@DIGEST], oci:DIR[:TAG], docker-archive:FILE,
docker-daemon:NAME[:TAG].`,
		Example: `  kiln build . --base oci:./python-base --output docker-daemon:myservice:1.0
  kiln build ./api --base registry.example.com/python:3.12-slim --platform linux/amd64,linux/arm64 \
      --tag registry.example.com/acme/api:1.4 --push
  kiln build . --base oci:./python-base --plan`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			return runBuild(cmd, dir, f, cf)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.base, "base", "", "base image reference (overrides base in [tool.kiln])")
	fl.StringSliceVar(&f.platforms, "platform", nil, "target platforms, e.g. linux/amd64,linux/arm64 (default: [tool.kiln] platforms, else linux/amd64)")
	fl.StringVar(&f.tag, "tag", "", "image name REPO:TAG; the registry destination of --push and the default tag of oci: outputs")
	fl.StringArrayVar(&f.outputs, "output", nil, "where to write the image (repeatable): REGISTRY/REPO:TAG, oci:DIR[:TAG], docker-archive:FILE, docker-daemon:NAME[:TAG]")
	fl.BoolVar(&f.push, "push", false, "push to the registry named by --tag")
	fl.BoolVar(&f.json, "json", false, "print the result (or, with --plan, the plan) as JSON on stdout")
	fl.BoolVar(&f.plan, "plan", false, "print the plan (base digests, interpreter, every wheel and layer key) and build nothing")
	cf = addConfigFlags(fl)
	return cmd
}

func runBuild(cmd *cobra.Command, dir string, f buildFlags, cf *configFlags) error {
	ctx := cmd.Context()
	started := time.Now()
	sess, err := newSession(cmd, dir, cf, f.base, f.platforms)
	if err != nil {
		return err
	}
	opts, logf := sess.opts, sess.opts.Log

	var sinks []publish.Publisher
	outputs := f.outputs
	if f.push {
		if f.tag == "" {
			return badInput(fmt.Errorf("--push needs --tag REGISTRY/REPO:TAG"))
		}
		outputs = append(outputs, f.tag)
	}
	for _, o := range outputs {
		ref, err := imageref.Parse(o)
		if err != nil {
			return badInput(fmt.Errorf("--output %s: %w", o, err))
		}
		if ref.Transport == imageref.OCI && ref.Tag == "" {
			ref.Tag = defaultTag(f.tag)
		}
		pub, err := publish.New(ref)
		if err != nil {
			return badInput(fmt.Errorf("--output %s: %w", o, err))
		}
		sinks = append(sinks, pub)
	}

	plan, err := build.MakePlan(ctx, opts)
	if err != nil {
		return badInput(err)
	}
	planned := time.Since(started)
	if f.plan {
		// A plan resolves but records nothing: a build or `kiln lock` writes kiln.lock.
		return printJSONOrText(cmd, f.json, plan, func() { printPlan(cmd, plan) })
	}

	res, err := build.Build(ctx, opts, plan)
	if err != nil {
		return badInput(err)
	}
	if err := sess.saveLock(); err != nil {
		return err
	}
	res.Timings["plan"] = planned.Round(time.Millisecond).String()
	publishStart := time.Now()
	var published []publish.Result
	if len(sinks) > 0 {
		art := publish.Artifact{Image: res.Image, Index: res.Index}
		for _, s := range sinks {
			logf("writing %s", s)
			r, err := s.Publish(ctx, art)
			if err != nil {
				return &exitError{code: 1, err: fmt.Errorf("%s: %w", s, err)}
			}
			published = append(published, r)
		}
	} else {
		logf("no --output or --push given: image built in the cache only")
	}
	res.Timings["publish"] = time.Since(publishStart).Round(time.Millisecond).String()
	res.Timings["total"] = time.Since(started).Round(time.Millisecond).String()
	out := struct {
		*build.Result
		Outputs []publish.Result `json:"outputs"`
	}{res, published}
	return printJSONOrText(cmd, f.json, out, func() {
		for _, pr := range res.Platforms {
			fmt.Fprintf(cmd.OutOrStdout(), "%s\t%s\n", pr.Platform, pr.Digest)
		}
		if res.Index != nil {
			fmt.Fprintf(cmd.OutOrStdout(), "index\t%s\n", res.Digest)
		}
		for _, r := range published {
			fmt.Fprintf(cmd.OutOrStdout(), "wrote\t%s\n", r.Ref)
		}
	})
}

func defaultTag(tag string) string {
	if tag == "" {
		return "latest"
	}
	if i := strings.LastIndex(tag, ":"); i > strings.LastIndex(tag, "/") {
		return tag[i+1:]
	}
	return "latest"
}

func printJSONOrText(cmd *cobra.Command, asJSON bool, v any, text func()) error {
	if !asJSON {
		text()
		return nil
	}
	enc := json.NewEncoder(cmd.OutOrStdout())
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func printPlan(cmd *cobra.Command, plan *build.Plan) {
	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "project   %s %s\n", plan.Project, plan.Version)
	fmt.Fprintf(w, "base      %s (%s)\n", plan.Base.Ref, plan.Base.Digest)
	fmt.Fprintf(w, "lock      %s (sha256 %s)\n", filepath.Base(plan.Lock.Path), plan.Lock.Sha256)
	fmt.Fprintf(w, "command   %q (%s)\n", plan.Command, plan.CommandReason)
	for _, pp := range plan.Platforms {
		fmt.Fprintf(w, "\n%s  base %s\n  python %s at %s, %s\n  dependencies layer key %s\n", pp.Platform, pp.BaseDigest, pp.PythonVersion, pp.Interpreter, pp.Libc, pp.DepsKey)
		for _, wh := range pp.Wheels {
			fmt.Fprintf(w, "  %-60s sha256:%s\n", wh.Filename, wh.Sha256)
		}
		if len(pp.Debs) > 0 {
			fmt.Fprintf(w, "  packages layer key %s\n", pp.PackagesKey)
		}
		for _, d := range pp.Debs {
			fmt.Fprintf(w, "  %-60s sha256:%s\n", d.Name+" "+d.Version, d.SHA256)
		}
	}
}
