package publish

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/kiln-build/kiln/internal/imageref"
)

// tarballPublisher writes docker-archive:FILE[:NAME:TAG], the format of
// `docker save`, which holds one image: for an index, the image for the
// WithPlatform platform, by default the host's (linux/GOARCH), and an error
// when the index has none. Without NAME:TAG the archive records no tag and
// `docker load` reports only the image ID.
type tarballPublisher struct {
	ref      imageref.Ref
	tag      *name.Tag
	platform *v1.Platform
}

func newTarball(r imageref.Ref, o *options) (*tarballPublisher, error) {
	p := &tarballPublisher{ref: r, platform: o.platform}
	if r.Name != "" {
		t, err := name.NewTag(r.Name)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r, err)
		}
		p.tag = &t
	}
	return p, nil
}

func (p *tarballPublisher) String() string { return p.ref.String() }

func (p *tarballPublisher) Publish(ctx context.Context, a Artifact) (Result, error) {
	img, err := a.image(p.ref, p.platform)
	if err != nil {
		return Result{}, err
	}
	d, err := p.write(ctx, img)
	if err != nil {
		return Result{}, fmt.Errorf("write %s: %w", p.ref, err)
	}
	return Result{Ref: p.ref.String(), Digest: d}, nil
}

func (p *tarballPublisher) write(ctx context.Context, img v1.Image) (_ v1.Hash, err error) {
	d, err := img.Digest()
	if err != nil {
		return d, err
	}
	// A reference that is not a tag makes the archive untagged; which
	// repository it names does not matter, it is never written.
	var ref name.Reference
	if p.tag != nil {
		ref = *p.tag
	} else if ref, err = name.NewDigest("untagged@" + d.String()); err != nil {
		return d, err
	}

	target := filepath.Clean(p.ref.Path)
	if fi, err := os.Stat(target); err == nil && fi.IsDir() {
		return d, fmt.Errorf("%s is a directory", target)
	}
	dir, prefix, err := tempBeside(target)
	if err != nil {
		return d, err
	}
	f, err := os.CreateTemp(dir, prefix)
	if err != nil {
		return d, err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := tarball.MultiRefWrite(map[name.Reference]v1.Image{ref: img}, ctxWriter{ctx, f}); err != nil {
		return d, err
	}
	if err := f.Sync(); err != nil {
		return d, err
	}
	if err := f.Close(); err != nil {
		return d, err
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return d, err
	}
	if err := ctx.Err(); err != nil {
		return d, err
	}
	if err := os.Rename(f.Name(), target); err != nil {
		return d, err
	}
	return d, syncDir(dir)
}
