package layer

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"

	"github.com/kiln-build/kiln/internal/cache"
)

// gzipLevel is fixed: the compressed bytes, and so the layer digest, depend on it.
const gzipLevel = gzip.BestSpeed

// Blob describes a compressed layer stored in the cache.
type Blob struct {
	Digest       string `json:"digest"`  // sha256 hex of the gzip stream
	DiffID       string `json:"diff_id"` // sha256 hex of the tar stream
	Size         int64  `json:"size"`    // bytes of the gzip stream
	Uncompressed int64  `json:"uncompressed"`
}

type countingHash struct {
	n int64
	h interface {
		io.Writer
		Sum([]byte) []byte
	}
}

func (c *countingHash) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return c.h.Write(p)
}

// Store writes the tree as a gzip-compressed tar into the cache and describes it.
func Store(c *cache.Cache, t *Tree, mtime time.Time) (Blob, error) {
	tmp, err := c.TempFile("layer-*")
	if err != nil {
		return Blob{}, err
	}
	defer os.Remove(tmp.Name())
	compressed := &countingHash{h: sha256.New()}
	zw, err := gzip.NewWriterLevel(io.MultiWriter(tmp, compressed), gzipLevel)
	if err != nil {
		tmp.Close()
		return Blob{}, err
	}
	uncompressed := &countingHash{h: sha256.New()}
	if err := t.Write(io.MultiWriter(zw, uncompressed), mtime); err != nil {
		tmp.Close()
		return Blob{}, err
	}
	if err := zw.Close(); err != nil {
		tmp.Close()
		return Blob{}, err
	}
	if err := tmp.Close(); err != nil {
		return Blob{}, err
	}
	b := Blob{
		Digest:       hex.EncodeToString(compressed.h.Sum(nil)),
		DiffID:       hex.EncodeToString(uncompressed.h.Sum(nil)),
		Size:         compressed.n,
		Uncompressed: uncompressed.n,
	}
	if err := c.PutFile(tmp.Name(), b.Digest); err != nil {
		return Blob{}, err
	}
	return b, nil
}

// Cached builds a layer through the cache: when a record for key exists and
// its blob still is what the record says (see Check), build is not called
// and hit is true. A record that fails the check is dropped and the layer
// rebuilt.
func Cached(c *cache.Cache, key string, mtime time.Time, mt types.MediaType, build func() (*Tree, error)) (l v1.Layer, b Blob, hit bool, err error) {
	if c.Record("layer", key, &b) {
		if b.Check(c) == nil {
			l, err := b.Layer(c, mt)
			return l, b, true, err
		}
		c.DropRecord("layer", key)
	}
	t, err := build()
	if err != nil {
		return nil, Blob{}, false, err
	}
	if b, err = Store(c, t, mtime); err != nil {
		return nil, Blob{}, false, err
	}
	if err := c.SetRecord("layer", key, b); err != nil {
		return nil, Blob{}, false, err
	}
	l, err = b.Layer(c, mt)
	return l, b, false, err
}

// Check reads the stored blob once and reports whether it is what b says:
// its sha256 and size, and the sha256 and size of the tar it decompresses
// to. A record whose diff_id rotted, or one that names another valid blob,
// fails here rather than producing an image whose config lies about a layer.
func (b Blob) Check(c *cache.Cache) error {
	pr, pw := io.Pipe()
	type tarSum struct {
		diffID string
		size   int64
		err    error
	}
	done := make(chan tarSum, 1)
	// Decompressing in its own goroutine overlaps it with hashing the
	// compressed bytes: the check reads the blob once, on both cores.
	go func() {
		zr, err := gzip.NewReader(pr)
		if err != nil {
			pr.CloseWithError(err)
			done <- tarSum{err: err}
			return
		}
		h := &countingHash{h: sha256.New()}
		_, err = io.Copy(h, zr)
		pr.CloseWithError(err)
		done <- tarSum{diffID: hex.EncodeToString(h.h.Sum(nil)), size: h.n, err: err}
	}()
	compressed := &countingHash{h: sha256.New()}
	err := c.Check(b.Digest, io.MultiWriter(pw, compressed))
	pw.CloseWithError(err)
	got := <-done
	switch {
	case err != nil:
		return err
	case got.err != nil:
		return fmt.Errorf("layer %s: %w", b.Digest, got.err)
	case compressed.n != b.Size:
		return fmt.Errorf("layer %s: %d bytes, the record says %d", b.Digest, compressed.n, b.Size)
	case got.diffID != b.DiffID || got.size != b.Uncompressed:
		return fmt.Errorf("layer %s: decompresses to sha256:%s (%d bytes), the record says sha256:%s (%d bytes)", b.Digest, got.diffID, got.size, b.DiffID, b.Uncompressed)
	}
	return nil
}

// Layer returns the stored blob as a v1.Layer of the given media type.
func (b Blob) Layer(c *cache.Cache, mt types.MediaType) (v1.Layer, error) {
	digest, err := v1.NewHash("sha256:" + b.Digest)
	if err != nil {
		return nil, err
	}
	diffID, err := v1.NewHash("sha256:" + b.DiffID)
	if err != nil {
		return nil, err
	}
	return partial.CompressedToLayer(&cachedLayer{c: c, digest: digest, diffID: diffID, size: b.Size, mt: mt})
}

type cachedLayer struct {
	c      *cache.Cache
	digest v1.Hash
	diffID v1.Hash
	size   int64
	mt     types.MediaType
}

func (l *cachedLayer) Digest() (v1.Hash, error)            { return l.digest, nil }
func (l *cachedLayer) DiffID() (v1.Hash, error)            { return l.diffID, nil }
func (l *cachedLayer) Size() (int64, error)                { return l.size, nil }
func (l *cachedLayer) MediaType() (types.MediaType, error) { return l.mt, nil }
func (l *cachedLayer) Compressed() (io.ReadCloser, error) {
	f, err := l.c.Open(l.digest.Hex)
	if err != nil {
		return nil, fmt.Errorf("layer %s: %w", l.digest, err)
	}
	return f, nil
}

// ReadFiles returns the contents of the named regular files (relative
// paths, as the layer's tar names them) of a stored layer; absent names are
// absent from the map.
func ReadFiles(c *cache.Cache, b Blob, names ...string) (map[string][]byte, error) {
	f, err := c.Open(b.Digest)
	if err != nil {
		return nil, fmt.Errorf("layer %s: %w", b.Digest, err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("layer %s: %w", b.Digest, err)
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	out := map[string][]byte{}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("layer %s: %w", b.Digest, err)
		}
		if h.Typeflag == tar.TypeReg && want[h.Name] {
			data, err := io.ReadAll(tr)
			if err != nil {
				return nil, fmt.Errorf("layer %s: %s: %w", b.Digest, h.Name, err)
			}
			out[h.Name] = data
		}
	}
}
