package project

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/moby/patternmatcher"
)

// File is one entry of the application layer.
type File struct {
	Rel  string      // slash-separated, relative to Project.Dir
	Mode fs.FileMode // from lstat: permission bits, plus fs.ModeSymlink for links
	Size int64
	Link string // symlink target as written, for symlinks
}

// Patterns in .dockerignore syntax (anchored at the project root; "**/"
// matches at any depth) that are always excluded. .dockerignore cannot
// re-include them with "!": they are secrets (keys, credentials, .env files),
// VCS and tool state that may hold credentials, or files that would clash
// with what kiln writes (.venv is the dependency layer's /app/.venv; kiln
// writes the project's own dist-info). A pattern such as "!**/*.py" must not
// pull a local .venv into the image.
var protectedExcludes = []string{
	"**/.git",
	"**/.venv",
	"**/venv",
	"**/__pycache__",
	"**/*.pyc",
	"**/*.pyo",
	"**/.env",
	"**/.env.*",
	"**/*.pem",
	"**/*.key",
	"**/id_rsa*",
	"**/id_ed25519*",
	"**/id_ecdsa*",
	"**/.netrc",
	"**/.pypirc",
	"**/.mypy_cache",
	"**/.pytest_cache",
	"**/.ruff_cache",
	"**/.tox",
	"**/node_modules",
	"**/*.egg-info",
}

// Build output directories at the project root (where `python -m build`
// and setuptools put them), and kiln.lock (it describes the packages
// layer; copying it would change the application layer with every
// package update), are excluded too, but a project whose code or
// assets really live there can re-include them with a .dockerignore pattern
// that names the directory itself, such as "!dist" or "!build/assets".
// Nested ones (frontend/dist) are left alone: they are usually built assets
// the app serves.
var overridableExcludes = []string{"dist", "build", "kiln.lock"}

// Excluded lists the patterns that are excluded from every project in
// addition to .dockerignore and Config.Exclude, in .dockerignore syntax.
// Only "dist", "build" and "kiln.lock" can be re-included, by a .dockerignore "!"
// pattern that starts with that directory name.
func (p *Project) Excluded() []string {
	return append(append([]string(nil), protectedExcludes...), overridableExcludes...)
}

// filter decides which paths of the project go into the image.
type filter struct {
	protected, overridable *patternmatcher.PatternMatcher
	user                   *patternmatcher.PatternMatcher // .dockerignore, then Config.Exclude
	reinclude              map[string]bool                // overridable dirs named by a "!" pattern
}

func newFilter(dockerignore, exclude []string) (*filter, error) {
	f := &filter{reinclude: map[string]bool{}}
	var err error
	if f.protected, err = compile(protectedExcludes); err != nil {
		return nil, err
	}
	if f.overridable, err = compile(overridableExcludes); err != nil {
		return nil, err
	}
	user := append([]string(nil), dockerignore...)
	for _, e := range exclude {
		user = append(user, cleanPattern(e))
	}
	if f.user, err = compile(user); err != nil {
		return nil, err
	}
	for _, pat := range user {
		if neg, ok := strings.CutPrefix(pat, "!"); ok {
			first, _, _ := strings.Cut(strings.TrimSpace(neg), "/")
			f.reinclude[first] = true
		}
	}
	return f, nil
}

// compile builds a matcher and compiles every pattern once, so that a bad
// pattern is reported here rather than on whichever path first reaches it.
func compile(patterns []string) (*patternmatcher.PatternMatcher, error) {
	for _, p := range patterns {
		one, err := patternmatcher.New([]string{strings.TrimPrefix(p, "!")})
		if err != nil {
			return nil, fmt.Errorf("pattern %q: %w", p, err)
		}
		if _, err := one.MatchesOrParentMatches("x"); err != nil {
			return nil, fmt.Errorf("pattern %q: %w", p, err)
		}
	}
	return patternmatcher.New(patterns)
}

// cleanPattern normalises a Config.Exclude entry the way
// ignorefile.ReadAll normalises a .dockerignore line.
func cleanPattern(s string) string {
	s = strings.TrimSpace(s)
	neg := strings.HasPrefix(s, "!")
	if neg {
		s = strings.TrimSpace(s[1:])
	}
	if s != "" {
		s = path.Clean(filepath.ToSlash(s))
		if len(s) > 1 && s[0] == '/' {
			s = s[1:]
		}
	}
	if neg {
		s = "!" + s
	}
	return s
}

// excludedByDefault reports whether a default pattern removes rel that no
// "!" pattern may bring back.
func (f *filter) excludedByDefault(rel string) (bool, error) {
	if m, err := f.protected.MatchesOrParentMatches(rel); err != nil || m {
		return m, err
	}
	m, err := f.overridable.MatchesOrParentMatches(rel)
	if err != nil || !m {
		return false, err
	}
	first, _, _ := strings.Cut(rel, "/")
	return !f.reinclude[first], nil
}

// included reports whether rel is in the image (for a directory: whether
// the directory itself is; children may still be re-included by "!").
func (f *filter) included(rel string) (bool, error) {
	if ex, err := f.excludedByDefault(rel); err != nil || ex {
		return false, err
	}
	ex, err := f.user.MatchesOrParentMatches(rel)
	return !ex, err
}

// Files lists the files of the application layer, sorted by Rel. The
// filters are, in order: the default exclusions (see Excluded), then
// .dockerignore and Config.Exclude evaluated together as Docker evaluates a
// .dockerignore (last matching pattern wins, "!" re-includes). Symlinks are
// reported, not followed, and refused when absolute or pointing outside the
// project; devices, sockets and pipes are refused. Excluded paths are never
// checked, so a bad entry can be left out with .dockerignore.
func (p *Project) Files() ([]File, error) {
	flt, err := newFilter(p.dockerignore, p.Config.Exclude)
	if err != nil {
		return nil, fmt.Errorf("project %s: exclude: %w", p.Dir, err)
	}
	var files []File
	err = filepath.WalkDir(p.Dir, func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if name == p.Dir {
			return nil
		}
		r, err := filepath.Rel(p.Dir, name)
		if err != nil {
			return err
		}
		rel := filepath.ToSlash(r)
		if ex, err := flt.excludedByDefault(rel); err != nil {
			return err
		} else if ex {
			return skip(d)
		}
		ex, err := flt.user.MatchesOrParentMatches(rel)
		if err != nil {
			return err
		}
		if ex {
			if d.IsDir() && flt.user.Exclusions() {
				return nil // a "!" pattern may re-include something below
			}
			return skip(d)
		}
		if d.IsDir() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		f := File{Rel: rel, Mode: fi.Mode(), Size: fi.Size()}
		switch {
		case fi.Mode().IsRegular():
		case fi.Mode()&fs.ModeSymlink != 0:
			if f.Link, err = os.Readlink(name); err != nil {
				return err
			}
			if err := checkLink(p.Dir, rel, f.Link); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%s is a %s, not a regular file, directory or symlink; add it to .dockerignore", rel, typeName(fi.Mode()))
		}
		files = append(files, f)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("project %s: %w", p.Dir, err)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Rel < files[j].Rel })
	return files, nil
}

func skip(d fs.DirEntry) error {
	if d.IsDir() {
		return fs.SkipDir
	}
	return nil
}

// checkLink refuses a link whose target is absolute or resolves outside
// the project: in the image the project is /app, and such a link would point
// at whatever the image has there. Resolution follows links inside the
// project, as the kernel would, so "a -> ." plus "b -> a/.." is caught.
func checkLink(root, rel, target string) error {
	if path.IsAbs(target) || filepath.IsAbs(target) {
		return fmt.Errorf("symlink %s points to %q, an absolute path; use a relative link inside the project or add it to .dockerignore", rel, target)
	}
	hops := 0
	if _, err := resolve(root, strings.Split(path.Dir(rel), "/"), target, &hops); err != nil {
		return fmt.Errorf("symlink %s points to %q: %w; add it to .dockerignore", rel, target, err)
	}
	return nil
}

var errEscapes = errors.New("resolves outside the project directory")

// resolve walks target from dir (components relative to root) and returns
// the resolved components. Missing components are taken literally.
func resolve(root string, dir []string, target string, hops *int) ([]string, error) {
	var stack []string
	for _, c := range dir {
		if c != "." && c != "" {
			stack = append(stack, c)
		}
	}
	for _, c := range strings.Split(target, "/") {
		switch c {
		case "", ".":
			continue
		case "..":
			if len(stack) == 0 {
				return nil, errEscapes
			}
			stack = stack[:len(stack)-1]
			continue
		}
		stack = append(stack, c)
		name := filepath.Join(root, filepath.FromSlash(strings.Join(stack, "/")))
		fi, err := os.Lstat(name)
		if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			continue
		}
		if *hops++; *hops > maxHops {
			return nil, fmt.Errorf("more than %d levels of symlinks", maxHops)
		}
		t, err := os.Readlink(name)
		if err != nil {
			return nil, err
		}
		if path.IsAbs(t) || filepath.IsAbs(t) {
			return nil, fmt.Errorf("%s: %w via absolute symlink", strings.Join(stack, "/"), errEscapes)
		}
		if stack, err = resolve(root, stack[:len(stack)-1], t, hops); err != nil {
			return nil, err
		}
	}
	return stack, nil
}

// maxHops is Linux's limit on symlinks followed in one lookup.
const maxHops = 40

func typeName(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeDevice != 0:
		return "device"
	default:
		return "special file"
	}
}
