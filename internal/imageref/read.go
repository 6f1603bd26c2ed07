package imageref

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/daemon"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Source is a readable image or index.
type Source struct {
	Ref    Ref
	Index  v1.ImageIndex // nil if a single image
	Image  v1.Image      // nil if an index
	Digest v1.Hash       // of the manifest or index
	// Name is the value for the org.opencontainers.image.base.name
	// annotation: the fully qualified registry repository with its tag (the
	// repository alone when the reference has only a digest), or the
	// reference itself for other transports.
	Name string
}

// Option configures registry access.
type Option func(*options)

type options struct {
	insecure  bool
	transport http.RoundTripper
	keychain  authn.Keychain
}

// WithInsecureRegistry allows plain HTTP to every registry, not only to
// loopback ones.
func WithInsecureRegistry() Option { return func(o *options) { o.insecure = true } }

// WithTransport replaces DefaultTransport.
func WithTransport(t http.RoundTripper) Option { return func(o *options) { o.transport = t } }

// WithKeychain replaces authn.DefaultKeychain (~/.docker/config.json and
// its credential helpers).
func WithKeychain(k authn.Keychain) Option { return func(o *options) { o.keychain = k } }

// DefaultTransport is remote.DefaultTransport with a bound on how long a
// registry may take to answer a request once it has been sent. There is no
// overall deadline because a large layer upload legitimately takes long.
var DefaultTransport http.RoundTripper = func() http.RoundTripper {
	t := remote.DefaultTransport.(*http.Transport).Clone()
	t.ResponseHeaderTimeout = 2 * time.Minute
	return t
}()

// RemoteOptions returns the options for talking to a registry: context,
// credentials (authn.DefaultKeychain when k is nil), transport
// (DefaultTransport when t is nil) and bounded retries with backoff on
// throttling, 5xx answers and connection resets.
func RemoteOptions(ctx context.Context, t http.RoundTripper, k authn.Keychain) []remote.Option {
	if t == nil {
		t = DefaultTransport
	}
	if k == nil {
		k = authn.DefaultKeychain
	}
	return []remote.Option{
		remote.WithContext(ctx),
		remote.WithTransport(t),
		remote.WithAuthFromKeychain(k),
		remote.WithRetryBackoff(remote.Backoff{Duration: time.Second, Factor: 3, Jitter: 0.1, Steps: 4}),
		remote.WithRetryStatusCodes(http.StatusRequestTimeout, http.StatusTooManyRequests,
			http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout),
	}
}

// Read opens the image or index r names. Layers are read lazily, so a
// registry or daemon Source stays usable only while ctx is.
func Read(ctx context.Context, r Ref, opts ...Option) (*Source, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s := &Source{Ref: r, Name: r.String()}
	var err error
	switch r.Transport {
	case Registry:
		err = s.readRegistry(ctx, &o)
	case OCI:
		err = s.readLayout()
	case DockerArchive:
		err = s.readArchive()
	case DockerDaemon:
		err = s.readDaemon(ctx)
	case Deb:
		err = errors.New("deb: bases are not supported yet")
	default:
		err = fmt.Errorf("unknown transport %q", r.Transport)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r, err)
	}
	return s, nil
}

func (s *Source) readRegistry(ctx context.Context, o *options) error {
	ref, err := s.Ref.Reference(o.insecure)
	if err != nil {
		return err
	}
	desc, err := remote.Get(ref, RemoteOptions(ctx, o.transport, o.keychain)...)
	if err != nil {
		return err
	}
	switch {
	case desc.MediaType.IsIndex():
		s.Index, err = desc.ImageIndex()
	case desc.MediaType.IsImage():
		s.Image, err = desc.Image()
	default:
		err = fmt.Errorf("unsupported manifest media type %q", desc.MediaType)
	}
	if err != nil {
		return err
	}
	s.Digest = desc.Digest
	repo := ref.Context().Name()
	if s.Ref.Tag != "" {
		s.Name = repo + ":" + s.Ref.Tag
	} else {
		s.Name = repo
	}
	return nil
}

func (s *Source) readLayout() error {
	ii, err := layout.ImageIndexFromPath(s.Ref.Path)
	if err != nil {
		return err
	}
	im, err := ii.IndexManifest()
	if err != nil {
		return err
	}
	var found []v1.Descriptor
	if s.Ref.Tag != "" {
		for _, d := range im.Manifests {
			if d.Annotations[refNameKey] == s.Ref.Tag {
				found = append(found, d)
			}
		}
	} else {
		found = im.Manifests
	}
	if len(found) != 1 {
		var tags []string
		for _, d := range im.Manifests {
			if t, ok := d.Annotations[refNameKey]; ok {
				tags = append(tags, t)
			}
		}
		what := fmt.Sprintf("tag %q is not in the layout", s.Ref.Tag)
		switch {
		case s.Ref.Tag != "" && len(found) > 1:
			what = fmt.Sprintf("tag %q names %d manifests", s.Ref.Tag, len(found))
		case s.Ref.Tag == "":
			what = fmt.Sprintf("layout holds %d manifests, name one with oci:DIR:TAG", len(im.Manifests))
		}
		return fmt.Errorf("%s (tags: %s)", what, listOrNone(tags))
	}
	d := found[0]
	switch {
	case d.MediaType.IsIndex():
		s.Index, err = ii.ImageIndex(d.Digest)
	case d.MediaType.IsImage():
		s.Image, err = ii.Image(d.Digest)
	default:
		err = fmt.Errorf("manifest %s has unsupported media type %q", d.Digest, d.MediaType)
	}
	s.Digest = d.Digest
	return err
}

// refNameKey tags a manifest in an OCI layout's index.json.
const refNameKey = "org.opencontainers.image.ref.name"

func (s *Source) readArchive() error {
	var tag *name.Tag
	if s.Ref.Name != "" {
		t, err := name.NewTag(s.Ref.Name)
		if err != nil {
			return err
		}
		tag = &t
	}
	img, err := tarball.ImageFromPath(s.Ref.Path, tag)
	if err != nil {
		return err
	}
	s.Image = img
	s.Digest, err = img.Digest()
	return err
}

// readDaemon buffers the image from `docker save` in memory; a docker-daemon
// base is a local convenience, not the path for large images.
func (s *Source) readDaemon(ctx context.Context) error {
	ref, err := s.Ref.Reference(false)
	if err != nil {
		return err
	}
	img, err := daemon.Image(ref, daemon.WithContext(ctx))
	if err != nil {
		return err
	}
	s.Image = img
	s.Digest, err = img.Digest()
	return err
}

// Platforms lists the platforms the source has images for. Index entries
// without a real platform (such as BuildKit attestations, unknown/unknown)
// are left out.
func (s *Source) Platforms() ([]v1.Platform, error) {
	cs, err := s.candidates()
	if err != nil {
		return nil, err
	}
	ps := make([]v1.Platform, len(cs))
	for i, c := range cs {
		ps[i] = c.platform
	}
	return ps, nil
}

// ForPlatform returns the image for platform p. An empty variant means the
// architecture's default (v8 for arm64, v7 for arm), as in containerd.
func (s *Source) ForPlatform(p v1.Platform) (v1.Image, error) {
	cs, err := s.candidates()
	if err != nil {
		return nil, err
	}
	want := normalize(p)
	have := make([]string, 0, len(cs))
	for _, c := range cs {
		if normalize(c.platform) == want {
			if s.Index == nil {
				return s.Image, nil
			}
			img, err := s.Index.Image(c.digest)
			if err != nil {
				return nil, fmt.Errorf("%s: image for %s: %w", s.Ref, p, err)
			}
			return img, nil
		}
		have = append(have, c.platform.String())
	}
	return nil, fmt.Errorf("%s: no image for platform %s (it has: %s)", s.Ref, p, listOrNone(have))
}

type candidate struct {
	platform v1.Platform
	digest   v1.Hash
}

func (s *Source) candidates() ([]candidate, error) {
	if s.Index == nil {
		cf, err := s.Image.ConfigFile()
		if err != nil {
			return nil, fmt.Errorf("%s: config: %w", s.Ref, err)
		}
		return []candidate{{platform: v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant}, digest: s.Digest}}, nil
	}
	im, err := s.Index.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.Ref, err)
	}
	var cs []candidate
	for _, d := range im.Manifests {
		if !d.MediaType.IsImage() {
			continue
		}
		var p v1.Platform
		if d.Platform != nil {
			p = *d.Platform
		} else {
			// The platform field is optional in an index; the config has it.
			img, err := s.Index.Image(d.Digest)
			if err != nil {
				return nil, fmt.Errorf("%s: manifest %s: %w", s.Ref, d.Digest, err)
			}
			cf, err := img.ConfigFile()
			if err != nil {
				return nil, fmt.Errorf("%s: manifest %s: config: %w", s.Ref, d.Digest, err)
			}
			p = v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant}
		}
		if p.OS == "unknown" || p.Architecture == "unknown" {
			continue
		}
		cs = append(cs, candidate{platform: p, digest: d.Digest})
	}
	return cs, nil
}

// platformKey is the part of a platform kiln selects on.
type platformKey struct{ os, arch, variant string }

// normalize fills in default variants so that linux/arm64 matches
// linux/arm64/v8.
func normalize(p v1.Platform) platformKey {
	n := platformKey{p.OS, p.Architecture, p.Variant}
	switch {
	case n.arch == "arm64" && n.variant == "":
		n.variant = "v8"
	case n.arch == "arm" && n.variant == "":
		n.variant = "v7"
	case n.arch == "amd64" && n.variant == "v1":
		n.variant = ""
	}
	return n
}

func listOrNone(xs []string) string {
	if len(xs) == 0 {
		return "none"
	}
	slices.Sort(xs)
	return strings.Join(xs, ", ")
}
