// Package debbase assembles a minimal Python runtime base image from
// Debian's signed archive, with no registry, no apt and no daemon: the
// `deb:SUITE` base. One image per platform, built on any host (arm64 on
// amd64 included), since nothing in it is run.
package debbase

import (
	"context"
	"fmt"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/kiln-build/kiln/internal/cache"
	"github.com/kiln-build/kiln/internal/debarchive"
	"github.com/kiln-build/kiln/internal/debsys"
	"github.com/kiln-build/kiln/internal/fetch"
	"github.com/kiln-build/kiln/internal/layer"
	"github.com/kiln-build/kiln/internal/pkglock"
)

// Roots are the packages of a Python runtime: the suite's python3, CA
// certificates, time zones, a shell with coreutils, the account and file
// layout packages, and libc-bin for the C.UTF-8 locale.
var Roots = []string{"base-files", "base-passwd", "ca-certificates", "coreutils", "dash", "libc-bin", "python3", "tzdata"}

// Exclude are packages that dependencies name but a runtime image does not
// need: the package managers (readline-common wants dpkg), debconf (asked
// only by maintainer scripts, which kiln replays itself) and perl. A
// dependency on one counts as satisfied. Name one in [tool.kiln] packages
// to get it anyway.
var Exclude = []string{"apt", "debconf", "dpkg", "perl", "perl-base", "tar"}

// Options are what a deb: base is built from.
type Options struct {
	Suite   string
	Archive *debarchive.Archive
	Fetcher *fetch.Fetcher
	Cache   *cache.Cache
	Lock    *pkglock.Lock // read for pins; new resolutions are Set in it
	Update  bool          // resolve again even when the lock has an entry
	Epoch   time.Time
	Log     func(format string, args ...any)
}

// Ref is the reference a deb: base is recorded under in kiln.lock and in
// the image's base.name annotation.
func Ref(suite string) string { return "deb:" + suite }

// Image builds the base for one platform.
func Image(ctx context.Context, o Options, plat v1.Platform) (v1.Image, error) {
	arch := plat.Architecture
	if arch != "amd64" && arch != "arm64" {
		return nil, fmt.Errorf("deb:%s: platform %s: kiln assembles Debian bases for linux/amd64 and linux/arm64", o.Suite, plat)
	}
	req := debsys.Request{
		Platform: plat.OS + "/" + arch, Arch: arch, Suite: o.Suite, Base: Ref(o.Suite),
		Layer: pkglock.LayerBase, Packages: Roots, Exclude: Exclude,
	}
	pl, err := debsys.Resolve(ctx, o.Archive, o.Lock, req, o.Update)
	if err != nil {
		return nil, fmt.Errorf("deb:%s: %w", o.Suite, err)
	}
	o.Lock.Set(pl)
	key := cache.Key("kiln-debbase-1", pl.Platform)
	for _, p := range pl.Packages {
		key = cache.Key(key, p.Name, p.Version, p.SHA256)
	}
	l, b, hit, err := layer.Cached(o.Cache, key, o.Epoch, types.OCILayer, func() (*layer.Tree, error) {
		o.Log("deb:%s: assembling %s from %d packages", o.Suite, pl.Platform, len(pl.Packages))
		tree, _, err := debsys.Assemble(ctx, debsys.Assembly{Fetcher: o.Fetcher, Cache: o.Cache, Arch: arch, MergedUsr: true, Log: o.Log}, pl)
		return tree, err
	})
	if err != nil {
		return nil, fmt.Errorf("deb:%s for %s: %w", o.Suite, pl.Platform, err)
	}
	if hit {
		o.Log("deb:%s: %s base layer %s from the cache", o.Suite, pl.Platform, b.Digest[:12])
	}
	img, err := mutate.Append(mutate.MediaType(empty.Image, types.OCIManifestSchema1), mutate.Addendum{
		Layer:     l,
		MediaType: types.OCILayer,
		History:   v1.History{Created: v1.Time{Time: o.Epoch}, CreatedBy: fmt.Sprintf("kiln: Debian %s packages %v", o.Suite, Roots), Comment: "kiln"},
	})
	if err != nil {
		return nil, err
	}
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = plat.OS, arch, ""
	cf.Created = v1.Time{Time: o.Epoch}
	cf.Config.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"}
	cf.Config.Cmd = []string{"python3"}
	return mutate.ConfigFile(img, cf)
}

// Index builds the base for every platform as one index.
func Index(ctx context.Context, o Options, plats []v1.Platform) (v1.ImageIndex, error) {
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, p := range plats {
		img, err := Image(ctx, o, p)
		if err != nil {
			return nil, err
		}
		p := p
		p.Variant = ""
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &p}})
	}
	return idx, nil
}
