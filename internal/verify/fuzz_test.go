package verify

import (
	"archive/tar"
	"bytes"
	"io"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// FuzzStatic feeds arbitrary layer bytes to Static: it may return an error,
// but must not panic, and a result must come for every check.
func FuzzStatic(f *testing.F) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range []*tar.Header{
		{Name: "etc/passwd", Size: int64(len(passwdFile)), Mode: 0o644, Typeflag: tar.TypeReg},
		{Name: "lib", Linkname: "/lib/../lib", Typeflag: tar.TypeSymlink},
		{Name: "../../.wh..wh..opq", Typeflag: tar.TypeReg},
		{Name: "x/.wh.y", Typeflag: tar.TypeReg},
		{Name: "h", Linkname: "etc/passwd", Typeflag: tar.TypeLink},
	} {
		if err := tw.WriteHeader(h); err != nil {
			f.Fatal(err)
		}
		if h.Size > 0 {
			tw.Write([]byte(passwdFile))
		}
	}
	tw.Close()
	f.Add(buf.Bytes())
	f.Add([]byte("\x7fELF"))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
		if err != nil {
			return
		}
		rs, err := Static(image(t, goodConfig(), l), Config{})
		if err == nil && len(rs) != 10 {
			t.Fatalf("%d results, want 10", len(rs))
		}
	})
}

func FuzzPasswd(f *testing.F) {
	f.Add([]byte(passwdFile))
	f.Add([]byte("a:x:1:\n::::\nb:x:-1:2\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		byName, byUID := passwd(data)
		for uid, name := range byUID {
			if _, ok := byName[name]; !ok {
				t.Fatalf("uid %d named %q is not in byName", uid, name)
			}
		}
		for name, ids := range byName {
			if ids[0] < 0 || ids[1] < 0 {
				t.Fatalf("%q has negative ids %v", name, ids)
			}
		}
	})
}
