// Package pylock reads PEP 751 pylock.toml files (as `uv export --format
// pylock.toml`, `pip lock` and PDM write them) and selects, offline, the
// packages and candidate wheels one target environment installs.
package pylock

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"github.com/kiln-build/kiln/internal/marker"
	"github.com/kiln-build/kiln/internal/pep440"
	"github.com/kiln-build/kiln/internal/pyname"
	"github.com/kiln-build/kiln/internal/uvlock"
	"github.com/kiln-build/kiln/internal/wheel"
	"github.com/pelletier/go-toml/v2"
)

// Lock is a parsed pylock.toml.
type Lock struct {
	Path           string // file it came from, for errors
	LockVersion    string // "1.x"
	RequiresPython string // PEP 440 specifier set, "" if absent
	CreatedBy      string
	Environments   []string // markers; at least one must match the target when given
	// Extras and DependencyGroups are what a multi-use lock offers;
	// DefaultGroups are installed when no groups are asked for. All
	// normalised. A single-use lock (uv export) has none of them.
	Extras, DependencyGroups, DefaultGroups []string
	Packages                                []*Package
}

// Package is one [[packages]] entry.
type Package struct {
	Name           string // normalised
	Version        string // "" for source trees
	Marker         string
	RequiresPython string
	Index          string
	// Wheels are the wheels the entry locks, or the archive when that is a
	// wheel. Hash is always "sha256:<hex>"; Path, when set, is as written:
	// relative paths are relative to the lock file's directory.
	Wheels []uvlock.Artifact
	Sdist  *uvlock.Artifact // Hash "" when the lock gives no sha256
	Kind   string           // KindWheels, KindSdist, KindArchive, KindVCS or KindDirectory
	// Source is where a vcs, directory or archive entry points (its URL, or
	// its path); "" for wheels and sdists.
	Source string
}

// Package kinds, after the source key of the entry. An entry with both
// wheels and an sdist is KindWheels.
const (
	KindWheels    = "wheels"
	KindSdist     = "sdist"
	KindArchive   = "archive"
	KindVCS       = "vcs"
	KindDirectory = "directory"
)

func (p *Package) label() string {
	if p.Version == "" {
		return p.Name
	}
	return p.Name + " " + p.Version
}

// IsLockName reports whether base is a pylock file name: pylock.toml or
// pylock.<name>.toml.
func IsLockName(base string) bool {
	if base == "pylock.toml" {
		return true
	}
	name, ok := strings.CutPrefix(base, "pylock.")
	if !ok {
		return false
	}
	name, ok = strings.CutSuffix(name, ".toml")
	return ok && name != "" && !strings.Contains(name, ".")
}

// Load reads and parses the pylock.toml at path.
func Load(path string) (*Lock, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// Parse parses pylock.toml content; path is used in error messages only.
// Keys the spec does not define are ignored, as tools may add them; keys it
// defines and kiln reads must have the right type. Keys that must not
// affect installation (dependencies, upload-time, tool tables,
// attestation-identities) are not read.
func Parse(path string, data []byte) (*Lock, error) {
	if path == "" {
		path = "pylock.toml"
	}
	// A later major version may not fit the structs below, and "unsupported
	// version" is the useful error then.
	var head headWire
	if err := toml.Unmarshal(data, &head); err != nil {
		return nil, decodeError(path, err)
	}
	if head.LockVersion == nil {
		return nil, fmt.Errorf("%s: no lock-version (is this a pylock.toml?)", path)
	}
	if err := checkVersion(*head.LockVersion); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var w lockWire
	if err := toml.Unmarshal(data, &w); err != nil {
		return nil, decodeError(path, err)
	}
	return w.lock(path)
}

var versionRE = regexp.MustCompile(`^([0-9]+)\.[0-9]+$`)

// checkVersion accepts every 1.x: a minor version only adds keys, which
// are ignored.
func checkVersion(v string) error {
	m := versionRE.FindStringSubmatch(v)
	if m == nil {
		return fmt.Errorf("lock-version %q: want major.minor, e.g. \"1.0\"", v)
	}
	if major, err := strconv.Atoi(m[1]); err != nil || major != 1 {
		return fmt.Errorf("unsupported lock-version %s (kiln reads 1.x)", v)
	}
	return nil
}

func decodeError(path string, err error) error {
	var de *toml.DecodeError
	if !errors.As(err, &de) {
		return fmt.Errorf("%s: %w", path, err)
	}
	row, col := de.Position()
	key := de.Key()
	m := mismatchRE.FindStringSubmatch(de.Error())
	if m == nil {
		if len(key) > 0 {
			return fmt.Errorf("%s:%d:%d: %s: %w", path, row, col, strings.Join(key, "."), err)
		}
		return fmt.Errorf("%s:%d:%d: %w", path, row, col, err)
	}
	// go-toml names the Go field and type; say it in the file's terms. For
	// a value inside an inline table, Key stops at the table.
	if k, ok := tomlKeys[m[2]]; ok && (len(key) == 0 || key[len(key)-1] != k) {
		key = append(key, k)
	}
	return fmt.Errorf("%s:%d:%d: %s: a TOML %s where %s belongs", path, row, col, strings.Join(key, "."), m[1], tomlKind(m[3]))
}

var mismatchRE = regexp.MustCompile(`cannot decode TOML (\w+) into struct field (?:.*\.)?(\w+) of type (\S+)$`)

// tomlKeys maps the wire structs' field names to their keys; a field name
// means the same key in every struct.
var tomlKeys = func() map[string]string {
	m := map[string]string{}
	for _, v := range []any{headWire{}, lockWire{}, packageWire{}, vcsWire{}, dirWire{}, fileWire{}} {
		t := reflect.TypeOf(v)
		for i := range t.NumField() {
			m[t.Field(i).Name] = t.Field(i).Tag.Get("toml")
		}
	}
	return m
}()

func tomlKind(goType string) string {
	switch {
	case goType == "string":
		return "a string"
	case goType == "int64":
		return "an integer"
	case goType == "[]string":
		return "an array of strings"
	case strings.HasPrefix(goType, "map[string]"):
		return "a table of strings"
	case strings.HasPrefix(goType, "[]"):
		return "an array of tables"
	default:
		return "a table"
	}
}

type headWire struct {
	LockVersion *string `toml:"lock-version"`
}

type lockWire struct {
	LockVersion      string        `toml:"lock-version"`
	Environments     []string      `toml:"environments"`
	RequiresPython   string        `toml:"requires-python"`
	Extras           []string      `toml:"extras"`
	DependencyGroups []string      `toml:"dependency-groups"`
	DefaultGroups    []string      `toml:"default-groups"`
	CreatedBy        *string       `toml:"created-by"`
	Packages         []packageWire `toml:"packages"`
}

type packageWire struct {
	Name           string     `toml:"name"`
	Version        string     `toml:"version"`
	Marker         string     `toml:"marker"`
	RequiresPython string     `toml:"requires-python"`
	Index          string     `toml:"index"`
	VCS            *vcsWire   `toml:"vcs"`
	Directory      *dirWire   `toml:"directory"`
	Archive        *fileWire  `toml:"archive"`
	Sdist          *fileWire  `toml:"sdist"`
	Wheels         []fileWire `toml:"wheels"`
}

type vcsWire struct {
	Type     string `toml:"type"`
	URL      string `toml:"url"`
	Path     string `toml:"path"`
	CommitID string `toml:"commit-id"`
}

type dirWire struct {
	Path string `toml:"path"`
}

// fileWire is an archive, sdist or wheel; archives have no name.
type fileWire struct {
	Name   string            `toml:"name"`
	URL    string            `toml:"url"`
	Path   string            `toml:"path"`
	Size   *int64            `toml:"size"`
	Hashes map[string]string `toml:"hashes"`
}

func (w *lockWire) lock(file string) (*Lock, error) {
	if w.CreatedBy == nil {
		return nil, fmt.Errorf("%s: no created-by (required by PEP 751)", file)
	}
	if w.Packages == nil {
		return nil, fmt.Errorf("%s: no [[packages]] (required by PEP 751)", file)
	}
	l := &Lock{
		Path:           file,
		LockVersion:    w.LockVersion,
		RequiresPython: w.RequiresPython,
		CreatedBy:      *w.CreatedBy,
		Environments:   w.Environments,
	}
	if l.RequiresPython != "" {
		if _, err := pep440.ParseSpecifiers(l.RequiresPython); err != nil {
			return nil, fmt.Errorf("%s: requires-python: %w", file, err)
		}
	}
	for _, e := range l.Environments {
		if _, err := marker.Parse(e); err != nil {
			return nil, fmt.Errorf("%s: environments: %w", file, err)
		}
	}
	var err error
	if l.Extras, err = names("extras", w.Extras); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if l.DependencyGroups, err = names("dependency-groups", w.DependencyGroups); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if l.DefaultGroups, err = names("default-groups", w.DefaultGroups); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	for i := range w.Packages {
		p, err := w.Packages[i].pkg()
		if err != nil {
			name := w.Packages[i].Name
			if name == "" {
				name = fmt.Sprintf("#%d", i+1)
			}
			return nil, fmt.Errorf("%s: package %s: %w", file, name, err)
		}
		l.Packages = append(l.Packages, p)
	}
	return l, nil
}

// nameRE is the PEP 508 name grammar, which extras and groups share.
var nameRE = regexp.MustCompile(`^(?i:[a-z0-9]|[a-z0-9][a-z0-9._-]*[a-z0-9])$`)

func names(key string, in []string) ([]string, error) {
	out := make([]string, 0, len(in))
	for _, n := range in {
		if !nameRE.MatchString(n) {
			return nil, fmt.Errorf("%s: invalid name %q", key, n)
		}
		out = append(out, pyname.Normalize(n))
	}
	return out, nil
}

func (w *packageWire) pkg() (*Package, error) {
	if !nameRE.MatchString(w.Name) {
		return nil, fmt.Errorf("invalid name %q", w.Name)
	}
	p := &Package{
		Name:           pyname.Normalize(w.Name),
		Version:        w.Version,
		Marker:         w.Marker,
		RequiresPython: w.RequiresPython,
		Index:          w.Index,
	}
	if p.Version != "" {
		if _, err := pep440.ParseVersion(p.Version); err != nil {
			return nil, fmt.Errorf("version: %w", err)
		}
	}
	if _, err := marker.Parse(p.Marker); err != nil {
		return nil, fmt.Errorf("marker: %w", err)
	}
	if p.RequiresPython != "" {
		if _, err := pep440.ParseSpecifiers(p.RequiresPython); err != nil {
			return nil, fmt.Errorf("requires-python: %w", err)
		}
	}

	// PEP 751: vcs, directory and archive each exclude every other source;
	// sdist and wheels may come together.
	var kinds []string
	if w.VCS != nil {
		kinds = append(kinds, KindVCS)
	}
	if w.Directory != nil {
		kinds = append(kinds, KindDirectory)
	}
	if w.Archive != nil {
		kinds = append(kinds, KindArchive)
	}
	if w.Sdist != nil || len(w.Wheels) > 0 {
		kinds = append(kinds, "sdist/wheels")
	}
	switch len(kinds) {
	case 0:
		return nil, errors.New("no source: want one of vcs, directory, archive, or sdist and/or wheels")
	case 1:
	default:
		return nil, fmt.Errorf("conflicting sources: %s", strings.Join(kinds, ", "))
	}

	switch {
	case w.VCS != nil:
		p.Kind = KindVCS
		v := w.VCS
		if v.Type == "" || v.CommitID == "" || (v.URL == "") == (v.Path == "") {
			return nil, errors.New("vcs: needs type, commit-id and one of url or path")
		}
		p.Source = v.URL + v.Path
	case w.Directory != nil:
		p.Kind = KindDirectory
		if w.Directory.Path == "" {
			return nil, errors.New("directory: no path")
		}
		p.Source = w.Directory.Path
	case w.Archive != nil:
		p.Kind = KindArchive
		// An archive has no name key: its file name is the URL's or path's.
		w.Archive.Name = ""
		a, err := w.Archive.artifact()
		if err != nil {
			return nil, fmt.Errorf("archive: %w", err)
		}
		p.Source = a.URL
		if a.URL == "" {
			p.Source = a.Path
		}
		if strings.HasSuffix(a.Filename, ".whl") {
			if err := p.addWheel(a); err != nil {
				return nil, fmt.Errorf("archive: %w", err)
			}
		}
	default:
		p.Kind = KindSdist
		if w.Sdist != nil {
			a, err := w.Sdist.artifact()
			if err != nil {
				return nil, fmt.Errorf("sdist: %w", err)
			}
			p.Sdist = &a
		}
		for i := range w.Wheels {
			a, err := w.Wheels[i].artifact()
			if err != nil {
				return nil, fmt.Errorf("wheels[%d]: %w", i, err)
			}
			if err := p.addWheel(a); err != nil {
				return nil, fmt.Errorf("wheels[%d]: %w", i, err)
			}
		}
		if len(p.Wheels) > 0 {
			p.Kind = KindWheels
		}
	}
	return p, nil
}

// addWheel checks that a is a sha256-hashed wheel of p and adds it.
func (p *Package) addWheel(a uvlock.Artifact) error {
	f, err := wheel.ParseFilename(a.Filename)
	if err != nil {
		return err
	}
	if f.NormalizedName() != p.Name {
		return fmt.Errorf("%s is a wheel of %s, not %s", a.Filename, f.NormalizedName(), p.Name)
	}
	if p.Version != "" {
		wv, werr := pep440.ParseVersion(f.Version)
		pv, _ := pep440.ParseVersion(p.Version) // checked by the caller
		if werr != nil || wv.Compare(pv) != 0 {
			return fmt.Errorf("%s is version %s, the entry locks %s", a.Filename, f.Version, p.Version)
		}
	}
	if a.Hash == "" {
		return fmt.Errorf("%s: no sha256 hash (kiln installs only sha256-checked files)", a.Filename)
	}
	p.Wheels = append(p.Wheels, a)
	return nil
}

var sha256RE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// artifact converts a file entry. Hash is the sha256, "" when the entry has
// other hashes only.
func (w *fileWire) artifact() (uvlock.Artifact, error) {
	a := uvlock.Artifact{URL: w.URL, Path: w.Path}
	switch {
	case w.Name != "":
		a.Filename = w.Name
	case w.URL != "":
		u, err := url.Parse(w.URL)
		if err != nil {
			return a, err
		}
		// The last segment of the escaped path, decoded on its own, so that
		// an encoded "/" cannot split it.
		seg := u.EscapedPath()
		seg = seg[strings.LastIndex(seg, "/")+1:]
		if a.Filename, err = url.PathUnescape(seg); err != nil {
			return a, fmt.Errorf("%s: %w", w.URL, err)
		}
	case w.Path != "":
		a.Filename = path.Base(strings.ReplaceAll(w.Path, `\`, "/"))
	}
	if w.URL == "" && w.Path == "" {
		return a, errors.New("needs url or path")
	}
	// Callers join Filename to directories; it must be one plain name.
	if a.Filename == "" || a.Filename == "." || a.Filename == ".." || strings.ContainsAny(a.Filename, "/\\\x00") {
		return a, fmt.Errorf("no usable file name in %q", w.Name+w.URL+w.Path)
	}
	if w.Size != nil {
		if *w.Size < 0 {
			return a, fmt.Errorf("%s: negative size", a.Filename)
		}
		a.Size = *w.Size
	}
	if len(w.Hashes) == 0 {
		return a, fmt.Errorf("%s: no hashes (PEP 751 requires at least one)", a.Filename)
	}
	for algo, v := range w.Hashes {
		if strings.ToLower(algo) != "sha256" {
			continue
		}
		v = strings.ToLower(v)
		if !sha256RE.MatchString(v) {
			return a, fmt.Errorf("%s: malformed sha256 %q", a.Filename, w.Hashes[algo])
		}
		if a.Hash != "" && a.Hash != "sha256:"+v {
			return a, fmt.Errorf("%s: two different sha256 hashes", a.Filename)
		}
		a.Hash = "sha256:" + v
	}
	return a, nil
}
