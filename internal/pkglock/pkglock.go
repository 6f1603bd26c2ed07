// Package pkglock reads and writes kiln.lock: the Debian packages kiln
// resolved for a project, per platform, with the exact bytes (sha256) to
// install. A build with a kiln.lock installs exactly those packages, or
// fails naming the one the archive no longer serves.
package pkglock

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"

	"github.com/pelletier/go-toml/v2"
)

// FileName is the lock's name in the project directory.
const FileName = "kiln.lock"

// Version is the lock format version this kiln writes and reads.
const Version = 1

// Lock is the whole file.
type Lock struct {
	Version   int        `toml:"version"`
	Platforms []Platform `toml:"platform"`
}

// Layers a resolution can be for.
const (
	LayerBase     = "base"     // the packages of a deb: base itself
	LayerPackages = "packages" // [tool.kiln] packages over a base
)

// Platform is the resolution of one layer for one platform of one base.
type Platform struct {
	Platform string `toml:"platform"` // "linux/amd64"
	Layer    string `toml:"layer"`    // LayerBase or LayerPackages
	Suite    string `toml:"suite"`    // "bookworm"
	// Base is the digest of the base image the resolution was made against:
	// what the base already has is not installed again. For deb: bases it
	// is the suite.
	Base string `toml:"base"`
	// Requested is the package list from [tool.kiln] packages that this
	// resolution answers; a different list makes the entry stale.
	Requested []string  `toml:"requested"`
	Packages  []Package `toml:"package"`
}

// Package is one .deb to install.
type Package struct {
	Name         string `toml:"name"`
	Version      string `toml:"version"`
	Architecture string `toml:"architecture"`
	SHA256       string `toml:"sha256"`
	Size         int64  `toml:"size"`
	URL          string `toml:"url"`
}

// ErrNotExist is returned by Load when there is no lock file.
var ErrNotExist = errors.New("no " + FileName)

var sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

// Load reads dir/kiln.lock.
func Load(dir string) (*Lock, error) {
	p := filepath.Join(dir, FileName)
	data, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNotExist
	}
	if err != nil {
		return nil, err
	}
	l, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return l, nil
}

// Parse reads a lock and checks every entry.
func Parse(data []byte) (*Lock, error) {
	var l Lock
	dec := toml.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&l); err != nil {
		return nil, err
	}
	if l.Version != Version {
		return nil, fmt.Errorf("lock version %d, this kiln reads version %d", l.Version, Version)
	}
	seen := map[string]bool{}
	for _, pl := range l.Platforms {
		if pl.Platform == "" || pl.Base == "" {
			return nil, fmt.Errorf("a [[platform]] entry lacks platform or base")
		}
		if pl.Layer != LayerBase && pl.Layer != LayerPackages {
			return nil, fmt.Errorf("%s on %s: layer %q is neither %q nor %q", pl.Platform, pl.Base, pl.Layer, LayerBase, LayerPackages)
		}
		key := pl.Platform + " " + pl.Base + " " + pl.Layer
		if seen[key] {
			return nil, fmt.Errorf("two %s entries for %s on %s", pl.Layer, pl.Platform, pl.Base)
		}
		seen[key] = true
		for _, p := range pl.Packages {
			if p.Name == "" || p.Version == "" || p.URL == "" {
				return nil, fmt.Errorf("%s: package %q lacks a name, version or url", pl.Platform, p.Name)
			}
			if !sha256Hex.MatchString(p.SHA256) {
				return nil, fmt.Errorf("%s: package %s %s: sha256 %q is not 64 hex digits", pl.Platform, p.Name, p.Version, p.SHA256)
			}
		}
	}
	return &l, nil
}

// Find returns the entry of layer for platform on base answering requested, if any.
func (l *Lock) Find(platform, base, layer string, requested []string) (*Platform, bool) {
	if l == nil {
		return nil, false
	}
	want := sortedCopy(requested)
	for i := range l.Platforms {
		pl := &l.Platforms[i]
		if pl.Platform == platform && pl.Base == base && pl.Layer == layer && equal(sortedCopy(pl.Requested), want) {
			return pl, true
		}
	}
	return nil, false
}

// Set replaces (or adds) the entry for pl's platform, base and layer.
func (l *Lock) Set(pl Platform) {
	pl.Requested = sortedCopy(pl.Requested)
	sort.Slice(pl.Packages, func(i, j int) bool { return pl.Packages[i].Name < pl.Packages[j].Name })
	for i := range l.Platforms {
		if l.Platforms[i].Platform == pl.Platform && l.Platforms[i].Base == pl.Base && l.Platforms[i].Layer == pl.Layer {
			l.Platforms[i] = pl
			return
		}
	}
	l.Platforms = append(l.Platforms, pl)
	sort.Slice(l.Platforms, func(i, j int) bool {
		a, b := l.Platforms[i], l.Platforms[j]
		if a.Platform != b.Platform {
			return a.Platform < b.Platform
		}
		if a.Base != b.Base {
			return a.Base < b.Base
		}
		return a.Layer < b.Layer
	})
}

// Marshal renders the lock with a header saying what it is.
func (l *Lock) Marshal() ([]byte, error) {
	l.Version = Version
	body, err := toml.Marshal(l)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString("# kiln.lock: the Debian packages kiln installs, resolved from the signed archive.\n")
	b.WriteString("# Written by `kiln lock`; refresh with `kiln lock --update`. Commit it.\n\n")
	b.Write(body)
	return b.Bytes(), nil
}

// Write stores the lock in dir atomically.
func (l *Lock) Write(dir string) error {
	data, err := l.Marshal()
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+FileName+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(dir, FileName))
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
