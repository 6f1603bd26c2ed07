// Package project discovers what `kiln build DIR` is building: the
// pyproject.toml metadata, the [tool.kiln] configuration, where importable
// code lives, which files go into the application layer, and which command
// the image should run.
package project

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/kiln-build/kiln/internal/pyname"
	"github.com/moby/patternmatcher/ignorefile"
	"github.com/pelletier/go-toml/v2"
)

// Project is a Python project directory.
type Project struct {
	Dir            string // absolute
	Name           string // [project].name as written
	NormalizedName string // PEP 503 normalized name
	Version        string // "" when dynamic
	RequiresPython string
	Scripts        map[string]string // [project.scripts]: name -> "module:attr"
	GUIScripts     map[string]string // [project.gui-scripts]
	Dependencies   []string          // PEP 508 strings, informational
	// DefaultGroups is [tool.uv] default-groups. AllDefaultGroups is set
	// instead when it is "all"; the caller expands it from the lock.
	DefaultGroups    []string
	AllDefaultGroups bool
	Config           Config // [tool.kiln]
	// Verify is the [tool.kiln.verify] table, left for `kiln verify` to
	// read: it configures checking an image, not building one.
	Verify map[string]any
	Layout Layout

	dockerignore []string // patterns of .dockerignore, in order
}

// Layout says where importable code lives.
type Layout struct {
	// ImportRoot is the directory, relative to Project.Dir and
	// slash-separated, that goes on sys.path: "." (flat) or "src".
	ImportRoot string
	Packages   []string // top-level packages under ImportRoot, sorted
	Modules    []string // top-level single-file modules (without .py), sorted
}

const (
	pyprojectFile    = "pyproject.toml"
	dockerignoreFile = ".dockerignore"
)

// Load reads dir/pyproject.toml and dir/.dockerignore and detects the layout.
// [tool.kiln] is validated strictly: an unknown key or a value of the wrong
// type is an error naming the key and the file.
func Load(dir string) (*Project, error) {
	abs, err := filepath.Abs(dir)
	if err == nil {
		// Resolved so that a symlinked project directory is walked, not
		// reported as one link.
		abs, err = filepath.EvalSymlinks(abs)
	}
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("project %s: directory not found", dir)
		}
		return nil, fmt.Errorf("project %s: %w", dir, err)
	}
	file := filepath.Join(abs, pyprojectFile)
	data, err := os.ReadFile(file)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: not found; kiln builds a directory with a pyproject.toml", file)
		}
		return nil, err
	}
	p, err := parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	p.Dir = abs

	ignore := filepath.Join(abs, dockerignoreFile)
	f, err := os.Open(ignore)
	switch {
	case err == nil:
		p.dockerignore, err = ignorefile.ReadAll(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", ignore, err)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return nil, err
	}
	if _, err := newFilter(p.dockerignore, nil); err != nil {
		return nil, fmt.Errorf("%s: %w", ignore, err)
	}

	if p.Layout, err = p.detectLayout(); err != nil {
		return nil, err
	}
	return p, nil
}

// parse decodes pyproject.toml. Errors do not name the file.
func parse(data []byte) (*Project, error) {
	var doc map[string]any
	if err := toml.Unmarshal(data, &doc); err != nil {
		var de *toml.DecodeError
		if errors.As(err, &de) {
			row, col := de.Position()
			return nil, fmt.Errorf("line %d, column %d: %w", row, col, err)
		}
		return nil, err
	}
	p := &Project{}

	proj, err := table(doc, "project")
	if err != nil {
		return nil, err
	}
	if proj == nil {
		return nil, fmt.Errorf("no [project] table; kiln needs at least [project] name")
	}
	if err := projectString(proj, "name", &p.Name); err != nil {
		return nil, err
	}
	if p.Name == "" {
		return nil, fmt.Errorf("[project] name is missing")
	}
	if !nameRE.MatchString(p.Name) {
		return nil, fmt.Errorf("[project] name %q is not a valid Python package name", p.Name)
	}
	p.NormalizedName = pyname.Normalize(p.Name)
	if err := projectString(proj, "version", &p.Version); err != nil {
		return nil, err
	}
	if err := projectString(proj, "requires-python", &p.RequiresPython); err != nil {
		return nil, err
	}
	if v, ok := proj["dependencies"]; ok {
		if err := setList(&p.Dependencies, v, nil); err != nil {
			return nil, fmt.Errorf("[project] dependencies: %w", err)
		}
	}
	if p.Scripts, err = scripts(proj, "scripts"); err != nil {
		return nil, err
	}
	if p.GUIScripts, err = scripts(proj, "gui-scripts"); err != nil {
		return nil, err
	}

	tool, err := table(doc, "tool")
	if err != nil {
		return nil, err
	}
	uv, err := table(tool, "uv")
	if err != nil {
		return nil, fmt.Errorf("[tool] %w", err)
	}
	if v, ok := uv["default-groups"]; ok {
		if s, isString := v.(string); isString {
			if s != "all" {
				return nil, fmt.Errorf(`[tool.uv] default-groups: expected an array of strings or "all", got %s`, describe(v))
			}
			p.AllDefaultGroups = true
		} else if err := setList(&p.DefaultGroups, v, nil); err != nil {
			return nil, fmt.Errorf("[tool.uv] default-groups: %w", err)
		}
	}
	kiln, err := table(tool, "kiln")
	if err != nil {
		return nil, fmt.Errorf("[tool] %w", err)
	}
	if p.Verify, err = table(kiln, "verify"); err != nil {
		return nil, fmt.Errorf("[tool.kiln] %w", err)
	}
	if p.Verify != nil {
		kiln = maps.Clone(kiln)
		delete(kiln, "verify")
	}
	if p.Config, err = parseConfig(kiln); err != nil {
		return nil, fmt.Errorf("[tool.kiln] %w", err)
	}
	return p, nil
}

// table returns t[key] as a table, nil when absent.
func table(t map[string]any, key string) (map[string]any, error) {
	v, ok := t[key]
	if !ok {
		return nil, nil
	}
	sub, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: %w", key, typeError("a table", v))
	}
	return sub, nil
}

func projectString(proj map[string]any, key string, dst *string) error {
	v, ok := proj[key]
	if !ok {
		return nil
	}
	if err := setString(dst, v, nil); err != nil {
		return fmt.Errorf("[project] %s: %w", key, err)
	}
	return nil
}

func scripts(proj map[string]any, key string) (map[string]string, error) {
	v, ok := proj[key]
	if !ok {
		return nil, nil
	}
	var m map[string]string
	if err := setMap(&m, v, validateScriptName); err != nil {
		return nil, fmt.Errorf("[project.%s] %w", key, err)
	}
	for name, ref := range m {
		if !entryPointRE.MatchString(ref) {
			return nil, fmt.Errorf("[project.%s] %s: %q is not module:attr", key, name, ref)
		}
	}
	return m, nil
}

var (
	// PEP 508 names.
	nameRE = regexp.MustCompile(`^(?i:[a-z0-9]|[a-z0-9][a-z0-9._-]*[a-z0-9])$`)
	// Entry point object references: importable.module:object.attr, with an
	// optional [extras] suffix that installers ignore.
	entryPointRE = regexp.MustCompile(`^\s*[A-Za-z_][\w.]*\s*(:\s*[A-Za-z_][\w.]*)?\s*(\[[^\]]*\])?\s*$`)
)

// A script name becomes a file in the venv's bin directory.
func validateScriptName(s string) error {
	if s == "" || s == "." || s == ".." || strings.ContainsAny(s, "/\\\x00") {
		return fmt.Errorf("invalid script name %q", s)
	}
	return nil
}

// Names that setuptools' automatic discovery also refuses to treat as
// top-level code in a flat layout: tests, docs, tooling.
var (
	notPackages = map[string]bool{
		"bin": true, "ci": true, "doc": true, "docs": true, "example": true, "examples": true,
		"scripts": true, "test": true, "tests": true, "tools": true,
	}
	notModules = map[string]bool{
		"conftest": true, "fabfile": true, "manage": true, "noxfile": true, "setup": true,
		"tasks": true, "test": true, "tests": true, "toxfile": true,
	}
)

// detectLayout looks at the filtered top level of the project: src layout
// when src/ holds Python code and is not itself a package, flat otherwise.
func (p *Project) detectLayout() (Layout, error) {
	flt, err := newFilter(p.dockerignore, p.Config.Exclude)
	if err != nil {
		return Layout{}, err
	}
	fi, err := os.Lstat(filepath.Join(p.Dir, "src"))
	if err == nil && fi.IsDir() && !isFile(filepath.Join(p.Dir, "src", "__init__.py")) {
		ok, err := flt.included("src")
		if err != nil {
			return Layout{}, err
		}
		if ok {
			l, err := p.scanRoot(flt, "src", true)
			if err != nil || len(l.Packages)+len(l.Modules) > 0 {
				return l, err
			}
		}
	}
	return p.scanRoot(flt, ".", false)
}

// scanRoot lists the packages and modules directly under root. In a src
// layout every directory with Python files counts (namespace packages
// included); in a flat layout a directory needs an __init__.py or the
// project's own import name, so that tests/ and docs/ stay out.
func (p *Project) scanRoot(flt *filter, root string, src bool) (Layout, error) {
	l := Layout{ImportRoot: root}
	entries, err := os.ReadDir(filepath.Join(p.Dir, root))
	if err != nil {
		return l, fmt.Errorf("project %s: %w", p.Dir, err)
	}
	own := strings.ReplaceAll(p.NormalizedName, "-", "_")
	for _, e := range entries {
		name := e.Name()
		rel := path.Join(root, name)
		ok, err := flt.included(rel)
		if err != nil {
			return l, err
		}
		if !ok {
			continue
		}
		switch {
		case e.Type().IsRegular() && strings.HasSuffix(name, ".py"):
			mod := strings.TrimSuffix(name, ".py")
			if isIdentifier(mod) && (src || !notModules[mod]) {
				l.Modules = append(l.Modules, mod)
			}
		case e.IsDir() && isIdentifier(name):
			dir := filepath.Join(p.Dir, root, name)
			pkg := isFile(filepath.Join(dir, "__init__.py")) || name == own
			if src && !pkg {
				pkg = hasPython(dir)
			}
			if pkg && (src || !notPackages[name]) {
				l.Packages = append(l.Packages, name)
			}
		}
	}
	sort.Strings(l.Packages)
	sort.Strings(l.Modules)
	return l, nil
}

// ModulePath returns the dotted module name of the .py file at rel (relative
// to the project, slash-separated) as the image imports it: relative to the
// import root when the file is under it, else relative to the project
// directory, the working directory of the image. ok is false when a path
// component is not a Python identifier.
func (l Layout) ModulePath(rel string) (string, bool) {
	if l.ImportRoot != "." && l.ImportRoot != "" {
		if r, ok := strings.CutPrefix(rel, l.ImportRoot+"/"); ok {
			rel = r
		}
	}
	return dottedModule(rel)
}

// dottedModule turns a/b/c.py into a.b.c and a/b/__init__.py into a.b.
func dottedModule(rel string) (string, bool) {
	parts := strings.Split(strings.TrimSuffix(rel, ".py"), "/")
	if len(parts) > 1 && parts[len(parts)-1] == "__init__" {
		parts = parts[:len(parts)-1]
	}
	for _, part := range parts {
		if !isIdentifier(part) {
			return "", false
		}
	}
	return strings.Join(parts, "."), true
}

var identifierRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func isIdentifier(s string) bool { return identifierRE.MatchString(s) }

func isFile(name string) bool {
	fi, err := os.Lstat(name)
	return err == nil && fi.Mode().IsRegular()
}

// hasPython reports whether dir directly holds a .py file.
func hasPython(dir string) bool {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range entries {
		if e.Type().IsRegular() && strings.HasSuffix(e.Name(), ".py") {
			return true
		}
	}
	return false
}
