package publish

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/kiln-build/kiln/internal/imageref"
)

// defaultPublisher pushes to a registry. remote.Write and remote.WriteIndex
// skip blobs the registry already has and put each manifest only after the
// blobs (and, for an index, the child manifests) it refers to, so the tag is
// the last thing written.
type defaultPublisher struct {
	ref  imageref.Ref
	name name.Reference
	o    *options
}

func newDefault(r imageref.Ref, o *options) (*defaultPublisher, error) {
	n, err := r.Reference(o.insecure)
	if err != nil {
		return nil, err
	}
	return &defaultPublisher{ref: r, name: n, o: o}, nil
}

func (p *defaultPublisher) String() string { return p.ref.String() }

func (p *defaultPublisher) Publish(ctx context.Context, a Artifact) (Result, error) {
	res, err := p.publish(ctx, a)
	if err != nil {
		return Result{}, fmt.Errorf("push %s: %w", p.ref, err)
	}
	return res, nil
}

func (p *defaultPublisher) publish(ctx context.Context, a Artifact) (Result, error) {
	d, err := a.digest()
	if err != nil {
		return Result{}, err
	}
	ref := p.name.Context().Name()
	switch n := p.name.(type) {
	case name.Digest:
		if n.DigestStr() != d.String() {
			return Result{}, fmt.Errorf("the artifact's digest is %s, not %s", d, n.DigestStr())
		}
	case name.Tag:
		ref += ":" + n.TagStr()
	}

	inner := p.o.transport
	if inner == nil {
		inner = imageref.DefaultTransport
	}
	counter := &blobCounter{inner: inner, pushed: map[string]bool{}}
	opts := imageref.RemoteOptions(ctx, counter, p.o.keychain)
	if a.Index != nil {
		err = remote.WriteIndex(p.name, a.Index, opts...)
	} else {
		err = remote.Write(p.name, a.Image, opts...)
	}
	if err != nil {
		return Result{}, err
	}

	res := Result{Ref: ref + "@" + d.String(), Digest: d}
	sizes, err := blobSizes(a)
	if err != nil {
		return Result{}, err
	}
	for _, s := range counter.digests() {
		h, err := v1.NewHash(s)
		if err != nil {
			return Result{}, fmt.Errorf("registry committed blob %q: %w", s, err)
		}
		res.Pushed = append(res.Pushed, h)
		res.PushedBytes += sizes[h]
	}
	return res, nil
}

// blobCounter records the blobs whose upload the registry committed: the
// final PUT of an upload session carries the blob's digest and succeeds with
// 201 Created. Existing blobs are only HEADed, so they never show up here.
type blobCounter struct {
	inner  http.RoundTripper
	mu     sync.Mutex
	pushed map[string]bool
}

func (c *blobCounter) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.inner.RoundTrip(req)
	if err == nil && req.Method == http.MethodPut && resp.StatusCode == http.StatusCreated &&
		strings.Contains(req.URL.Path, "/blobs/uploads/") {
		if d := req.URL.Query().Get("digest"); d != "" {
			c.mu.Lock()
			c.pushed[d] = true
			c.mu.Unlock()
		}
	}
	return resp, err
}

func (c *blobCounter) digests() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	ds := make([]string, 0, len(c.pushed))
	for d := range c.pushed {
		ds = append(ds, d)
	}
	slices.Sort(ds)
	return ds
}

// blobSizes maps every config and layer blob of a to its size.
func blobSizes(a Artifact) (map[v1.Hash]int64, error) {
	sizes := map[v1.Hash]int64{}
	if a.Image != nil {
		return sizes, imageSizes(a.Image, sizes)
	}
	return sizes, indexSizes(a.Index, sizes)
}

func indexSizes(ii v1.ImageIndex, sizes map[v1.Hash]int64) error {
	im, err := ii.IndexManifest()
	if err != nil {
		return err
	}
	for _, d := range im.Manifests {
		switch {
		case d.MediaType.IsIndex():
			child, err := ii.ImageIndex(d.Digest)
			if err != nil {
				return err
			}
			if err := indexSizes(child, sizes); err != nil {
				return err
			}
		case d.MediaType.IsImage():
			img, err := ii.Image(d.Digest)
			if err != nil {
				return err
			}
			if err := imageSizes(img, sizes); err != nil {
				return err
			}
		}
	}
	return nil
}

func imageSizes(img v1.Image, sizes map[v1.Hash]int64) error {
	m, err := img.Manifest()
	if err != nil {
		return err
	}
	sizes[m.Config.Digest] = m.Config.Size
	for _, l := range m.Layers {
		sizes[l.Digest] = l.Size
	}
	return nil
}
