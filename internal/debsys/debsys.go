// Package debsys installs Debian packages into a layer the way apt and dpkg
// would leave them, without running either: resolve against the signed
// archive (or take the exact set from kiln.lock), fetch and hash-check each
// .deb, unpack with merged-/usr, replay what the maintainer scripts would
// have written, write ld.so.cache and the dpkg database.
package debsys

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/kiln-build/kiln/internal/cache"
	"github.com/kiln-build/kiln/internal/deb"
	"github.com/kiln-build/kiln/internal/debarchive"
	"github.com/kiln-build/kiln/internal/debfixup"
	"github.com/kiln-build/kiln/internal/debinstall"
	"github.com/kiln-build/kiln/internal/debresolve"
	"github.com/kiln-build/kiln/internal/fetch"
	"github.com/kiln-build/kiln/internal/layer"
	"github.com/kiln-build/kiln/internal/ldcache"
	"github.com/kiln-build/kiln/internal/pkglock"
)

// Request asks for packages on one platform.
type Request struct {
	Platform string // "linux/amd64"
	Arch     string // Debian architecture: "amd64", "arm64"
	Suite    string // "bookworm"
	Base     string // what the resolution depends on: the base digest, or "deb:SUITE"
	Layer    string // pkglock.LayerBase or pkglock.LayerPackages
	Packages []string
	// Installed is the base's dpkg status: packages that are there already
	// satisfy dependencies and are not installed again.
	Installed []byte
	Exclude   []string
}

// Resolve returns the exact packages for req: the kiln.lock entry when
// there is one for the same request and update is false, else a fresh
// resolution against the archive.
func Resolve(ctx context.Context, a *debarchive.Archive, lock *pkglock.Lock, req Request, update bool) (pkglock.Platform, error) {
	if !update {
		if pl, ok := lock.Find(req.Platform, req.Base, req.Layer, req.Packages); ok {
			return *pl, nil
		}
	}
	ix, err := a.Open(ctx, req.Suite, req.Arch)
	if err != nil {
		return pkglock.Platform{}, err
	}
	installed, err := InstalledFromStatus(req.Installed)
	if err != nil {
		return pkglock.Platform{}, fmt.Errorf("base dpkg status: %w", err)
	}
	pkgs, err := debresolve.Resolve(ix, req.Packages, installed, debresolve.Options{Arch: req.Arch, Exclude: req.Exclude})
	if err != nil {
		return pkglock.Platform{}, fmt.Errorf("%s packages for %s: %w", req.Suite, req.Platform, err)
	}
	pl := pkglock.Platform{Platform: req.Platform, Layer: req.Layer, Suite: req.Suite, Base: req.Base, Requested: req.Packages}
	for _, p := range pkgs {
		if p.SHA256 == "" || p.Filename == "" {
			return pkglock.Platform{}, fmt.Errorf("package %s %s: the index gives no SHA256 or Filename", p.Name, p.Version)
		}
		pl.Packages = append(pl.Packages, pkglock.Package{
			Name: p.Name, Version: p.Version.String(), Architecture: p.Architecture,
			SHA256: p.SHA256, Size: p.Size, URL: ix.URL(p),
		})
	}
	sort.Slice(pl.Packages, func(i, j int) bool { return pl.Packages[i].Name < pl.Packages[j].Name })
	return pl, nil
}

// InstalledFromStatus reads the installed packages of a dpkg status file.
func InstalledFromStatus(status []byte) ([]debresolve.Installed, error) {
	if len(status) == 0 {
		return nil, nil
	}
	paras, err := deb.ParseParagraphs(bytes.NewReader(status))
	if err != nil {
		return nil, err
	}
	var out []debresolve.Installed
	for _, para := range paras {
		if st, _ := para.Get("Status"); !strings.HasSuffix(st, " installed") {
			continue
		}
		p, err := deb.PackageFromParagraph(para)
		if err != nil {
			return nil, err
		}
		out = append(out, debresolve.Installed{Name: p.Name, Arch: p.Architecture, Source: p.Source, Version: p.Version, Provides: p.Provides})
	}
	return out, nil
}

// Assembly is how to build the layer.
type Assembly struct {
	Fetcher *fetch.Fetcher
	Cache   *cache.Cache
	Arch    string
	// Base is the filesystem below the layer (nil for a base kiln assembles
	// from nothing); BaseStatus its dpkg status.
	Base       debfixup.Files
	BaseStatus []byte
	// MergedUsr creates the /bin, /sbin, /lib... links into /usr: for a base
	// assembled from nothing.
	MergedUsr bool
	Log       func(format string, args ...any)
}

// Assemble fetches and installs the locked packages into a new tree.
func Assemble(ctx context.Context, as Assembly, pl pkglock.Platform) (*layer.Tree, *debfixup.Report, error) {
	arts := make([]fetch.Artifact, len(pl.Packages))
	for i, p := range pl.Packages {
		arts[i] = fetch.Artifact{Name: debName(p), URL: p.URL, Sha256: p.SHA256, Size: p.Size}
	}
	if err := as.Fetcher.All(ctx, arts); err != nil {
		return nil, nil, err
	}
	tree := layer.NewTree()
	if as.MergedUsr {
		if err := debinstall.MergedUsr(tree, as.Arch); err != nil {
			return nil, nil, err
		}
	}
	var unpacked []*debinstall.Unpacked
	for i, p := range pl.Packages {
		u, err := unpackOne(as.Cache, tree, arts[i])
		if err != nil {
			return nil, nil, err
		}
		if u.Package.Name != p.Name || u.Package.Version.String() != p.Version {
			return nil, nil, fmt.Errorf("%s: the .deb is %s %s, the lock says %s %s", arts[i].Name, u.Package.Name, u.Package.Version, p.Name, p.Version)
		}
		unpacked = append(unpacked, u)
	}

	installed, err := InstalledFromStatus(as.BaseStatus)
	if err != nil {
		return nil, nil, fmt.Errorf("base dpkg status: %w", err)
	}
	names := map[string]bool{}
	for _, p := range installed {
		names[p.Name] = true
	}
	for _, u := range unpacked {
		names[u.Package.Name] = true
	}
	all := make([]string, 0, len(names))
	for n := range names {
		all = append(all, n)
	}
	sort.Strings(all)
	report, err := debfixup.Apply(tree, as.Base, all, debfixup.Options{})
	if err != nil {
		return nil, nil, err
	}
	if err := writeLdCache(tree, as.Base, as.Arch); err != nil {
		return nil, nil, err
	}
	if err := debinstall.Database(tree, as.BaseStatus, unpacked); err != nil {
		return nil, nil, err
	}
	return tree, report, nil
}

func debName(p pkglock.Package) string {
	return fmt.Sprintf("%s_%s_%s.deb", p.Name, strings.ReplaceAll(p.Version, ":", "%3a"), p.Architecture)
}

func unpackOne(c *cache.Cache, tree *layer.Tree, a fetch.Artifact) (*debinstall.Unpacked, error) {
	f, err := c.Open(a.Sha256)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", a.Name, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	return debinstall.Unpack(tree, a.Name, f, st.Size())
}

// writeLdCache writes /etc/ld.so.cache for the libraries of the base (as
// its own cache lists them) and of the new layer, as dpkg's ldconfig
// trigger would after the last package.
func writeLdCache(tree *layer.Tree, base debfixup.Files, arch string) error {
	fresh, err := ldcache.Scan(tree.FS(), arch)
	if err != nil {
		return fmt.Errorf("ld.so.cache: %w", err)
	}
	if len(fresh) == 0 {
		return nil
	}
	var entries []ldcache.Entry
	if base != nil {
		if data, ok := base.ReadFile("/etc/ld.so.cache"); ok {
			old, err := ldcache.Parse(data)
			if err != nil {
				return fmt.Errorf("the base's /etc/ld.so.cache: %w", err)
			}
			entries = append(entries, old...)
		}
	}
	entries = merge(entries, fresh)
	data, err := ldcache.Write(entries, arch)
	if err != nil {
		return fmt.Errorf("ld.so.cache: %w", err)
	}
	return tree.AddFile("etc/ld.so.cache", 0o644, data)
}

// merge keeps one entry per (soname, path), the layer's winning.
func merge(old, fresh []ldcache.Entry) []ldcache.Entry {
	seen := map[string]bool{}
	var out []ldcache.Entry
	for _, e := range fresh {
		seen[e.Soname+"\x00"+e.Path] = true
		out = append(out, e)
	}
	for _, e := range old {
		if !seen[e.Soname+"\x00"+e.Path] {
			out = append(out, e)
		}
	}
	return out
}
