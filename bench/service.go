package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/kiln-build/kiln/internal/testindex"
	"github.com/kiln-build/kiln/internal/uvlock"
)

// service is a working copy of one of bench/services, which the scenarios
// change: its source, its locked dependencies, its version.
type service struct {
	name string // directory name under bench/services
	dir  string // the working copy
	// module is the source file a source-only change edits.
	module string
	// wheels are the wheelhouse directories to lock against: old has the
	// first version of the package that the dependency change swaps, new
	// the second.
	oldWheels, newWheels string
	useNew               bool
	indexURL             string
	// kilnLock is the service's kiln.lock, written into every working copy.
	kilnLock []byte
	version  int
	edits    int
}

// lock writes uv.lock (for kiln) and the equivalent hashed
// requirements.txt (for the Dockerfile) from the current wheel set.
func (s *service) lock() error {
	wheels := s.oldWheels
	if s.useNew {
		wheels = s.newWheels
	}
	root, err := testindex.ReadRootSpec(s.dir)
	if err != nil {
		return err
	}
	if err := testindex.WriteUVLock(s.dir, s.indexURL, wheels, root); err != nil {
		return err
	}
	l, err := uvlock.Load(filepath.Join(s.dir, "uv.lock"))
	if err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString("# every package of uv.lock, pinned and hashed (as `uv export` writes it)\n")
	var pkgs []*uvlock.Package
	for _, p := range l.Packages {
		if p.Source.Kind == "registry" {
			pkgs = append(pkgs, p)
		}
	}
	sort.Slice(pkgs, func(i, j int) bool { return pkgs[i].Name < pkgs[j].Name })
	for _, p := range pkgs {
		fmt.Fprintf(&b, "%s==%s", p.Name, p.Version)
		for _, w := range p.Wheels {
			fmt.Fprintf(&b, " \\\n    --hash=%s", w.Hash)
		}
		b.WriteString("\n")
	}
	return os.WriteFile(filepath.Join(s.dir, "requirements.txt"), []byte(b.String()), 0o644)
}

// editSource makes a source-only change.
func (s *service) editSource() error {
	s.edits++
	f, err := os.OpenFile(filepath.Join(s.dir, s.module), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(f, "\n# benchmark edit %d\n", s.edits); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// swapDependency moves the swapped package to its other version.
func (s *service) swapDependency() error {
	path := filepath.Join(s.dir, "uv.lock")
	before, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	s.useNew = !s.useNew
	if err := s.lock(); err != nil {
		return err
	}
	after, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if string(before) == string(after) {
		return fmt.Errorf("%s depends on none of the packages in second-version.txt: the dependency change changes nothing", s.name)
	}
	return nil
}

var versionLine = regexp.MustCompile(`(?m)^version = "[^"]*"$`)

// bumpVersion changes [project] version, and relocks as uv would.
func (s *service) bumpVersion() error {
	s.version++
	path := filepath.Join(s.dir, "pyproject.toml")
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	data = versionLine.ReplaceAll(data, []byte(fmt.Sprintf(`version = "1.0.%d"`, s.version)))
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return err
	}
	return s.lock()
}

// wheelSets makes the two wheelhouses of symlinks into all: old has the
// first version of each swapped package, new the second; pip's wheel, which
// only the Dockerfile's build stage uses, is in neither.
func wheelSets(all, work string, swaps []swapped) (oldDir, newDir string, err error) {
	files, err := filepath.Glob(filepath.Join(all, "*.whl"))
	if err != nil {
		return "", "", err
	}
	oldDir, newDir = filepath.Join(work, "wheels-old"), filepath.Join(work, "wheels-new")
	for _, d := range []string{oldDir, newDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return "", "", err
		}
	}
	for _, f := range files {
		base := filepath.Base(f)
		lower := strings.ToLower(base)
		toOld, toNew := !strings.HasPrefix(base, "pip-"), !strings.HasPrefix(base, "pip-")
		for _, sw := range swaps {
			prefix := strings.ToLower(strings.ReplaceAll(sw.name, "-", "_")) + "-"
			if strings.HasPrefix(lower, prefix) {
				toOld = strings.HasPrefix(lower, prefix+sw.oldVersion+"-")
				toNew = strings.HasPrefix(lower, prefix+sw.newVersion+"-")
			}
		}
		if toOld {
			if err := os.Symlink(f, filepath.Join(oldDir, base)); err != nil {
				return "", "", err
			}
		}
		if toNew {
			if err := os.Symlink(f, filepath.Join(newDir, base)); err != nil {
				return "", "", err
			}
		}
	}
	return oldDir, newDir, nil
}
