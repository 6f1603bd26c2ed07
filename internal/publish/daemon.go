package publish

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/daemon"
	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/client"

	"github.com/kiln-build/kiln/internal/imageref"
)

// daemonPublisher loads into the Docker engine (DOCKER_HOST and friends, as
// the docker CLI) as docker-daemon:NAME:TAG. The engine stores one image per
// tag: for an index, the image for the WithPlatform platform, by default the
// engine's own os/arch as `docker version` reports it (which may differ from
// the host's when DOCKER_HOST is remote), and an error when the index has
// none.
type daemonPublisher struct {
	ref      imageref.Ref
	tag      name.Tag
	platform *v1.Platform
}

func newDaemon(r imageref.Ref, o *options) (*daemonPublisher, error) {
	n, err := r.Reference(false)
	if err != nil {
		return nil, err
	}
	t, ok := n.(name.Tag)
	if !ok {
		return nil, fmt.Errorf("%s: the engine needs a tag, not a digest", r)
	}
	return &daemonPublisher{ref: r, tag: t, platform: o.platform}, nil
}

func (p *daemonPublisher) String() string { return p.ref.String() }

func (p *daemonPublisher) Publish(ctx context.Context, a Artifact) (Result, error) {
	c, err := client.New(client.FromEnv)
	if err != nil {
		return Result{}, fmt.Errorf("load %s: %w", p.ref, err)
	}
	defer c.Close()
	plat := p.platform
	if plat == nil && a.Index != nil {
		v, err := c.ServerVersion(ctx, client.ServerVersionOptions{})
		if err != nil {
			return Result{}, fmt.Errorf("load %s: engine platform: %w", p.ref, err)
		}
		plat = &v1.Platform{OS: v.Os, Architecture: v.Arch}
	}
	img, err := a.image(p.ref, plat)
	if err != nil {
		return Result{}, err
	}
	d, err := p.load(ctx, c, img)
	if err != nil {
		return Result{}, fmt.Errorf("load %s: %w", p.ref, err)
	}
	return Result{Ref: p.ref.String(), Digest: d}, nil
}

func (p *daemonPublisher) load(ctx context.Context, c *client.Client, img v1.Image) (v1.Hash, error) {
	d, err := img.Digest()
	if err != nil {
		return d, err
	}
	// The engine loads the whole archive before it tags anything, so a
	// failed load leaves the tag where it was.
	resp, err := daemon.Write(p.tag, img, daemon.WithContext(ctx), daemon.WithClient(c))
	if err != nil {
		return d, err
	}
	if err := loadError(resp); err != nil {
		return d, err
	}
	// Writing succeeds even when the engine reports a failure in its
	// answer, or skips a load it thinks is unneeded; the tag is the proof.
	cfg, err := img.ConfigName()
	if err != nil {
		return d, err
	}
	got, err := c.ImageInspect(ctx, p.tag.String())
	if err != nil {
		return d, err
	}
	if got.ID != cfg.String() {
		return d, fmt.Errorf("after loading, %s is image %s, not %s", p.tag, got.ID, cfg)
	}
	return d, nil
}

// loadError returns the first error in the JSON message stream of docker load.
func loadError(resp string) error {
	dec := json.NewDecoder(strings.NewReader(resp))
	for {
		var m jsonstream.Message
		if err := dec.Decode(&m); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("engine answer %q: %w", resp, err)
		}
		if m.Error != nil {
			return fmt.Errorf("engine: %s", m.Error.Message)
		}
	}
}
