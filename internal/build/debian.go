package build

import (
	"context"
	"fmt"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/kiln-build/kiln/internal/base"
	"github.com/kiln-build/kiln/internal/cache"
	"github.com/kiln-build/kiln/internal/debbase"
	"github.com/kiln-build/kiln/internal/debsys"
	"github.com/kiln-build/kiln/internal/fetch"
	"github.com/kiln-build/kiln/internal/imageref"
	"github.com/kiln-build/kiln/internal/layer"
	"github.com/kiln-build/kiln/internal/pkglock"
)

// readBase reads the base from any transport; a deb: base is assembled here.
func readBase(ctx context.Context, o Options, ref imageref.Ref, platforms []string) (*imageref.Source, error) {
	if ref.Transport != imageref.Deb {
		return imageref.Read(ctx, ref)
	}
	var plats []v1.Platform
	for _, ps := range platforms {
		p, err := v1.ParsePlatform(ps)
		if err != nil {
			return nil, fmt.Errorf("platform %q: %w", ps, err)
		}
		plats = append(plats, *p)
	}
	idx, err := debbase.Index(ctx, debbase.Options{
		Suite: ref.Suite, Archive: o.archive(), Fetcher: fetch.New(o.Cache, o.Project.Dir), Cache: o.Cache,
		Lock: o.Lock, Update: o.UpdateLock, Epoch: o.Epoch, Log: o.Log,
	}, plats)
	if err != nil {
		return nil, err
	}
	d, err := idx.Digest()
	if err != nil {
		return nil, err
	}
	return &imageref.Source{Ref: ref, Index: idx, Digest: d, Name: debbase.Ref(ref.Suite)}, nil
}

// planPackages resolves [tool.kiln] packages for one platform against the
// Debian suite the base is made from.
func planPackages(ctx context.Context, o Options, plan *Plan, pp *PlatformPlan) error {
	want := plan.project.Config.Packages
	if len(want) == 0 {
		return nil
	}
	pyproject := filepath.Join(plan.project.Dir, "pyproject.toml")
	osr := pp.info.OSRelease
	if osr["ID"] != "debian" || osr["VERSION_CODENAME"] == "" {
		return fmt.Errorf("%s: packages %v need a Debian base; %s for %s is %q (from its /etc/os-release)", pyproject, want, plan.Base.Ref, pp.Platform, osr["PRETTY_NAME"])
	}
	pl, err := debsys.Resolve(ctx, o.archive(), o.Lock, debsys.Request{
		Platform: pp.Platform, Arch: pp.platform.Architecture, Suite: osr["VERSION_CODENAME"],
		Base: pp.BaseDigest, Layer: pkglock.LayerPackages, Packages: want, Installed: pp.info.DpkgStatus,
	}, o.UpdateLock)
	if err != nil {
		return fmt.Errorf("%s: packages: %w", pyproject, err)
	}
	o.Lock.Set(pl)
	pp.Debs = pl.Packages
	pp.debs = pl
	parts := []string{layerFormat, "packages", pp.BaseDigest}
	for _, d := range pl.Packages {
		parts = append(parts, d.Name, d.Version, d.SHA256)
	}
	pp.PackagesKey = cache.Key(parts...)
	return nil
}

// packagesTree installs the platform's locked packages over its base. Only
// on a cache miss is the base read (once, streaming) for the files the
// maintainer scripts would have read.
func packagesTree(ctx context.Context, o Options, plan *Plan, pp *PlatformPlan) (*layer.Tree, error) {
	files, err := base.ReadFiles(pp.image, base.KeepSystemFiles)
	if err != nil {
		return nil, err
	}
	tree, report, err := debsys.Assemble(ctx, debsys.Assembly{
		Fetcher: fetch.New(o.Cache, plan.project.Dir), Cache: o.Cache, Arch: pp.platform.Architecture,
		Base: files, BaseStatus: pp.info.DpkgStatus, Log: o.Log,
	}, pp.debs)
	if err != nil {
		return nil, err
	}
	if n := len(report.NotReplicated); n > 0 {
		o.Log("%s: %d packages have maintainer-script effects kiln does not replay (service starts, .pyc, debconf questions); docs/debian.md lists them", pp.Platform, n)
	}
	return tree, nil
}
