package layer

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/kiln-build/kiln/internal/cache"
)

func sample(t *testing.T, order []string) *Tree {
	t.Helper()
	tr := NewTree()
	for _, p := range order {
		switch p {
		case "app/link":
			if err := tr.AddSymlink(p, "main.py"); err != nil {
				t.Fatal(err)
			}
		default:
			if err := tr.AddFile(p, 0o644, []byte("content of "+p)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tr.Add(Entry{Path: "home/app", Kind: Dir, Mode: 0o750, UID: 1001, GID: 1001}); err != nil {
		t.Fatal(err)
	}
	return tr
}

func TestWriteIsDeterministicAndSorted(t *testing.T) {
	a := sample(t, []string{"app/main.py", "app/pkg/x.py", "app/link", "etc/passwd"})
	b := sample(t, []string{"etc/passwd", "app/link", "app/pkg/x.py", "app/main.py"})
	var ba, bb bytes.Buffer
	if err := a.Write(&ba, time.Unix(0, 0)); err != nil {
		t.Fatal(err)
	}
	if err := b.Write(&bb, time.Unix(0, 0)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ba.Bytes(), bb.Bytes()) {
		t.Fatal("insertion order changed the tar bytes")
	}
	var names []string
	tr := tar.NewReader(&ba)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		if !h.ModTime.Equal(time.Unix(0, 0)) {
			t.Errorf("%s: mtime %v", h.Name, h.ModTime)
		}
		if h.Name == "home/app/" && (h.Uid != 1001 || h.Mode != 0o750) {
			t.Errorf("home/app: uid %d mode %o", h.Uid, h.Mode)
		}
		if h.Uname != "" || h.Gname != "" {
			t.Errorf("%s: owner names %q/%q leak the build host", h.Name, h.Uname, h.Gname)
		}
	}
	want := []string{"app/", "app/link", "app/main.py", "app/pkg/", "app/pkg/x.py", "etc/", "etc/passwd", "home/", "home/app/"}
	if len(names) != len(want) {
		t.Fatalf("entries %v, want %v", names, want)
	}
	for i := range want {
		if names[i] != want[i] {
			t.Fatalf("entries %v, want %v", names, want)
		}
	}
}

func TestAddRefusesEscapingPaths(t *testing.T) {
	tr := NewTree()
	for _, p := range []string{"../etc/passwd", "a/../../b", "", ".", "a/\x00b"} {
		if err := tr.AddFile(p, 0o644, nil); err == nil {
			t.Errorf("AddFile(%q) succeeded", p)
		}
	}
	if err := tr.AddFile("/etc/passwd", 0o644, nil); err != nil {
		t.Errorf("a leading slash is an image-absolute path and must be accepted: %v", err)
	}
	if err := tr.AddFile("usr/lib/x", 0o644, nil); err != nil {
		t.Fatal(err)
	}
	if err := tr.AddFile("usr/lib", 0o644, nil); err == nil {
		t.Error("a file replaced a directory that has entries")
	}
	if err := tr.AddFile("etc/passwd/x", 0o644, nil); err == nil {
		t.Error("a file under a regular file was accepted")
	}
}

func TestCachedReusesAndRecoversFromCorruption(t *testing.T) {
	c, err := cache.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	builds := 0
	build := func() (*Tree, error) {
		builds++
		return sample(t, []string{"app/main.py"}), nil
	}
	key := cache.Key("test", "one")
	_, b1, hit, err := Cached(c, key, time.Unix(0, 0), types.OCILayer, build)
	if err != nil || hit {
		t.Fatalf("first build: hit=%v err=%v", hit, err)
	}
	l, b2, hit, err := Cached(c, key, time.Unix(0, 0), types.OCILayer, build)
	if err != nil || !hit || builds != 1 || b1 != b2 {
		t.Fatalf("second build: hit=%v builds=%d err=%v", hit, builds, err)
	}
	d, _ := l.Digest()
	if d.Hex != b1.Digest {
		t.Fatalf("layer digest %s, stored %s", d, b1.Digest)
	}
	// Corrupt the stored blob: it must be detected and rebuilt, not served.
	if err := os.WriteFile(c.Path(b1.Digest), []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, b3, hit, err := Cached(c, key, time.Unix(0, 0), types.OCILayer, build)
	if err != nil || hit || builds != 2 || b3 != b1 {
		t.Fatalf("after corruption: hit=%v builds=%d err=%v", hit, builds, err)
	}
}

func TestReadFiles(t *testing.T) {
	c, err := cache.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	b, err := Store(c, sample(t, []string{"etc/passwd", "app/main.py"}), time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	got, err := ReadFiles(c, b, "etc/passwd", "etc/group")
	if err != nil {
		t.Fatal(err)
	}
	if string(got["etc/passwd"]) != "content of etc/passwd" || len(got) != 1 {
		t.Errorf("ReadFiles = %q", got)
	}
}

// A record that passes the cache's own checksum but no longer describes its
// blob (rewritten by an older kiln, a bug, or a hand) must not reach an image.
func TestCachedChecksRecordAgainstBlob(t *testing.T) {
	for _, tc := range []struct {
		name   string
		forge  func(good, other Blob) Blob
		reason string
	}{
		{"diff_id rotted", func(good, _ Blob) Blob {
			good.DiffID = strings.Repeat("0", 64)
			return good
		}, "decompresses to"},
		{"points at another valid blob", func(good, other Blob) Blob {
			good.Digest, good.Size = other.Digest, other.Size
			return good
		}, "decompresses to"},
		{"size wrong", func(good, _ Blob) Blob {
			good.Size++
			return good
		}, "bytes, the record says"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := cache.Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			builds := 0
			build := func() (*Tree, error) {
				builds++
				return sample(t, []string{"app/main.py"}), nil
			}
			key := cache.Key("test", "one")
			_, good, _, err := Cached(c, key, time.Unix(0, 0), types.OCILayer, build)
			if err != nil {
				t.Fatal(err)
			}
			other, err := Store(c, sample(t, []string{"app/other.py"}), time.Unix(0, 0))
			if err != nil {
				t.Fatal(err)
			}
			forged := tc.forge(good, other)
			if err := forged.Check(c); err == nil || !strings.Contains(err.Error(), tc.reason) {
				t.Fatalf("Check of a forged record = %v, want %q", err, tc.reason)
			}
			if err := c.SetRecord("layer", key, forged); err != nil {
				t.Fatal(err)
			}
			l, got, hit, err := Cached(c, key, time.Unix(0, 0), types.OCILayer, build)
			if err != nil || hit || builds != 2 || got != good {
				t.Fatalf("hit=%v builds=%d blob=%+v err=%v; want a rebuild giving %+v", hit, builds, got, err, good)
			}
			if d, _ := l.DiffID(); d.Hex != good.DiffID {
				t.Errorf("layer diff_id %s, want %s", d.Hex, good.DiffID)
			}
			if !c.Has(other.Digest) {
				t.Error("the other, valid blob was removed")
			}
		})
	}
}
