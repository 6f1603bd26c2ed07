package base_test

import (
	"archive/tar"
	"bytes"
	"io"
	"regexp"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/kiln-build/kiln/internal/base"
	"github.com/kiln-build/kiln/internal/testbase"
)

// The real thing: debootstrapped bookworm for amd64, and the unpacked-only
// arm64 one, as built by testbase.
func TestInspectBookworm(t *testing.T) {
	for _, arch := range []string{"amd64", "arm64"} {
		t.Run(arch, func(t *testing.T) {
			info, err := base.Inspect(testbase.Image(t, arch))
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %s %s %s %s %+v", arch, info.Arch, info.Interpreter, info.PythonVersion, info.StdlibDir, info.Libc)
			if info.Arch != arch || info.Interpreter != "/usr/bin/python3.11" || info.PythonMinor != "3.11" ||
				info.StdlibDir != "/usr/lib/python3.11" || info.Libc != (base.Libc{Kind: "glibc", Version: "2.36"}) {
				t.Errorf("got %+v", *info)
			}
			if !regexp.MustCompile(`^3\.11\.[0-9]+$`).MatchString(info.PythonVersion) {
				t.Errorf("python version %q", info.PythonVersion)
			}
			if !bytes.HasPrefix(info.Passwd, []byte("root:x:0:0:")) || !bytes.HasPrefix(info.Group, []byte("root:x:0:")) {
				t.Errorf("passwd %.40q group %.40q", info.Passwd, info.Group)
			}
			if info.OSRelease["VERSION_CODENAME"] != "bookworm" || info.OSRelease["ID"] != "debian" {
				t.Errorf("os-release %v", info.OSRelease)
			}
		})
	}
}

// With an empty dpkg database on top, the versions can only come from the
// real binaries: the PY_VERSION literal in python3.11 and the banner of
// libc.so.6.
func TestInspectBookwormWithoutDpkg(t *testing.T) {
	for _, arch := range []string{"amd64", "arm64"} {
		t.Run(arch, func(t *testing.T) {
			img := testbase.Image(t, arch)
			want, err := base.Inspect(img)
			if err != nil {
				t.Fatal(err)
			}
			got, err := base.Inspect(emptyFile(t, img, "var/lib/dpkg/status"))
			if err != nil {
				t.Fatal(err)
			}
			if got.PythonVersion != want.PythonVersion || got.Libc != want.Libc {
				t.Errorf("from binaries: python %s %+v; from dpkg: python %s %+v", got.PythonVersion, got.Libc, want.PythonVersion, want.Libc)
			}
		})
	}
}

// emptyFile adds a layer replacing name with an empty file.
func emptyFile(t *testing.T, img v1.Image, name string) v1.Image {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644}); err != nil {
		t.Fatal(err)
	}
	tw.Close()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf.Bytes())), nil })
	if err != nil {
		t.Fatal(err)
	}
	out, err := mutate.AppendLayers(img, l)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
