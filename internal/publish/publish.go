// Package publish writes built images to where an image reference points: a
// registry, an OCI layout, a docker-archive tarball or the Docker engine.
//
// As in ko's pkg/publish, each sink is its own Publisher (default.go for
// registries, layout.go, tarball.go, daemon.go) and Multi composes several.
// File outputs are written beside their target and renamed into place, so an
// interrupted or failed publish leaves the previous output intact; registry
// pushes write the manifest only after every blob, so a failed push never
// leaves a tag pointing at missing blobs.
package publish

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/kiln-build/kiln/internal/imageref"
)

// Artifact is what a build produced: exactly one of Index (several
// platforms) and Image is set.
type Artifact struct {
	Index v1.ImageIndex
	Image v1.Image
}

// Result describes a published artifact.
type Result struct {
	// Ref names the output; for a registry, the pushed repository, tag and
	// digest (REPO:TAG@DIGEST), which imageref.Parse accepts.
	Ref string `json:"ref"`
	// Digest is the manifest or index digest of what was written. For
	// docker-archive and docker-daemon outputs of an index it is the digest
	// of the one platform image written.
	Digest v1.Hash `json:"digest"`
	// Pushed lists the blobs uploaded to a registry, in digest order; blobs
	// the registry already had are not in it. Empty for other sinks.
	Pushed []v1.Hash `json:"pushed,omitempty"`
	// PushedBytes is the total size of the blobs in Pushed.
	PushedBytes int64 `json:"pushed_bytes,omitempty"`
}

// Publisher writes an artifact to one output.
type Publisher interface {
	Publish(ctx context.Context, a Artifact) (Result, error)
	// String names the output, as an image reference.
	String() string
}

// Option configures publishers.
type Option func(*options)

type options struct {
	insecure  bool
	transport http.RoundTripper
	keychain  authn.Keychain
	platform  *v1.Platform
}

// WithInsecureRegistry allows plain HTTP to every registry, not only to
// loopback ones.
func WithInsecureRegistry() Option { return func(o *options) { o.insecure = true } }

// WithTransport replaces imageref.DefaultTransport for registry pushes.
func WithTransport(t http.RoundTripper) Option { return func(o *options) { o.transport = t } }

// WithKeychain replaces authn.DefaultKeychain for registry pushes.
func WithKeychain(k authn.Keychain) Option { return func(o *options) { o.keychain = k } }

// WithPlatform chooses which image of an index the single-image outputs
// (docker-archive, docker-daemon) take, instead of their default.
func WithPlatform(p v1.Platform) Option { return func(o *options) { o.platform = &p } }

// New returns the publisher for r. deb: is a base, not an output.
func New(r imageref.Ref, opts ...Option) (Publisher, error) {
	o := &options{}
	for _, opt := range opts {
		opt(o)
	}
	switch r.Transport {
	case imageref.Registry:
		return newDefault(r, o)
	case imageref.OCI:
		return &layoutPublisher{ref: r}, nil
	case imageref.DockerArchive:
		return newTarball(r, o)
	case imageref.DockerDaemon:
		return newDaemon(r, o)
	}
	return nil, fmt.Errorf("%s: %s is not an output transport (use a registry, oci:, docker-archive: or docker-daemon:)", r, r.Transport)
}

var errArtifact = errors.New("artifact must have exactly one of an index and an image")

func (a Artifact) digest() (v1.Hash, error) {
	switch {
	case (a.Index == nil) == (a.Image == nil):
		return v1.Hash{}, errArtifact
	case a.Index != nil:
		return a.Index.Digest()
	default:
		return a.Image.Digest()
	}
}

// image returns the Image of a, or for an index the image for platform p
// (the host's, linux/GOARCH, when p is nil). Its errors name the output r.
func (a Artifact) image(r imageref.Ref, p *v1.Platform) (v1.Image, error) {
	if (a.Index == nil) == (a.Image == nil) {
		return nil, fmt.Errorf("%s: %w", r, errArtifact)
	}
	if a.Image != nil {
		return a.Image, nil
	}
	if p == nil {
		p = &v1.Platform{OS: "linux", Architecture: runtime.GOARCH}
	}
	src := imageref.Source{Ref: r, Index: a.Index}
	return src.ForPlatform(*p)
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// ctxWriter stops a long write once ctx is done.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}

// tempBeside returns the directory of target (creating it) and a prefix for
// temporary names there, which hide as dotfiles.
func tempBeside(target string) (dir, prefix string, err error) {
	target = filepath.Clean(target)
	dir = filepath.Dir(target)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", err
	}
	return dir, "." + filepath.Base(target) + ".tmp-", nil
}
