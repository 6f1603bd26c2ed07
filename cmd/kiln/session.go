package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/kiln-build/kiln/internal/build"
	"github.com/kiln-build/kiln/internal/cache"
	"github.com/kiln-build/kiln/internal/pkglock"
	"github.com/kiln-build/kiln/internal/project"
	"github.com/kiln-build/kiln/internal/pyindex"
)

// configFlags are the flags for every [tool.kiln] key but base and
// platforms, which have flags of their own.
type configFlags struct{ values map[string]*[]string }

// flagNames are the flags not named like their key: repeatable list flags
// read better in the singular (--package curl --package libpq5).
var flagNames = map[string]string{"packages": "package", "labels": "label", "groups": "group"}

// configFlag is the flag of a [tool.kiln] key: "healthcheck.path" becomes
// --healthcheck-path.
func configFlag(key string) string {
	if f, ok := flagNames[key]; ok {
		return f
	}
	return strings.ReplaceAll(key, ".", "-")
}

func addConfigFlags(fl *pflag.FlagSet) *configFlags {
	c := &configFlags{values: map[string]*[]string{}}
	for _, k := range project.Keys() {
		if k.Name == "base" || k.Name == "platforms" {
			continue
		}
		v := new([]string)
		c.values[k.Name] = v
		fl.StringArrayVar(v, configFlag(k.Name), nil, "[tool.kiln] "+k.Name+": "+k.Form)
	}
	return c
}

// apply sets the flags given on cfg and validates the result. env and
// labels take one K=V per occurrence; other list keys join their
// occurrences into one comma-separated list.
func (c *configFlags) apply(cfg *project.Config) error {
	for _, k := range project.Keys() {
		vs, ok := c.values[k.Name]
		if !ok || len(*vs) == 0 {
			continue
		}
		values := []string{strings.Join(*vs, ",")}
		if k.Name == "env" || k.Name == "labels" {
			values = *vs
		}
		for _, v := range values {
			if err := cfg.Set(k.Name, v); err != nil {
				return fmt.Errorf("--%s: %w", configFlag(k.Name), err)
			}
		}
	}
	return cfg.Validate()
}

// session is what every command that plans a build sets up: the project
// with its flags applied, the cache, the time, and kiln.lock.
type session struct {
	opts    build.Options
	lock    *pkglock.Lock
	lockOld []byte // the lock as read, so it is written back only when it changed
}

func newSession(cmd *cobra.Command, dir string, cf *configFlags, baseRef string, platforms []string) (*session, error) {
	p, err := project.Load(dir)
	if err != nil {
		return nil, badInput(err)
	}
	if err := cf.apply(&p.Config); err != nil {
		return nil, badInput(err)
	}
	cdir, err := cache.Dir()
	if err != nil {
		return nil, err
	}
	c, err := cache.Open(cdir)
	if err != nil {
		return nil, err
	}
	epoch, err := build.Epoch()
	if err != nil {
		return nil, badInput(err)
	}
	lock, err := pkglock.Load(p.Dir)
	if errors.Is(err, pkglock.ErrNotExist) {
		lock = &pkglock.Lock{}
	} else if err != nil {
		return nil, badInput(err)
	}
	old, err := lock.Marshal()
	if err != nil {
		return nil, err
	}
	stderr := cmd.ErrOrStderr()
	logf := func(format string, args ...any) { fmt.Fprintf(stderr, "kiln: "+format+"\n", args...) }
	return &session{
		opts: build.Options{Project: p, Base: baseRef, Platforms: platforms, Epoch: epoch, Cache: c, Log: logf, Lock: lock, Index: &pyindex.Client{}},
		lock: lock, lockOld: old,
	}, nil
}

// saveLock writes kiln.lock when a resolution added to it or changed it.
func (s *session) saveLock() error {
	data, err := s.lock.Marshal()
	if err != nil {
		return err
	}
	if len(s.lock.Platforms) == 0 || string(data) == string(s.lockOld) {
		return nil
	}
	if err := s.lock.Write(s.opts.Project.Dir); err != nil {
		return fmt.Errorf("writing %s: %w", pkglock.FileName, err)
	}
	s.opts.Log("wrote %s", filepath.Join(s.opts.Project.Dir, pkglock.FileName))
	return nil
}
