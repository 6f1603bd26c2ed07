package base

import (
	"bytes"
	"debug/elf"
	"io"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func TestParseDpkgStatus(t *testing.T) {
	pkgs, err := parseDpkgStatus([]byte(dpkgDB + "\nPackage: gone\nStatus: deinstall ok config-files\nVersion: 1\n\nPackage: half\nStatus: install ok half-installed\nVersion: 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []pkg{{"libc6", "amd64", "2.36-9+deb12u4"}, {"python3.11-minimal", "amd64", "3.11.2-6+deb12u6"}, {"libc6", "i386", "2.31-13"}}
	if len(pkgs) != len(want) {
		t.Fatalf("got %v", pkgs)
	}
	for i := range want {
		if pkgs[i] != want[i] {
			t.Errorf("package %d: %+v, want %+v", i, pkgs[i], want[i])
		}
	}
	if v := findPkg(pkgs, "libc6", "i386"); v != "2.31-13" {
		t.Errorf("libc6:i386 = %q", v)
	}
	if v := findPkg(pkgs, "libc6", "arm64"); v != "" {
		t.Errorf("libc6:arm64 = %q, want none (two other architectures)", v)
	}
	if _, err := parseDpkgStatus([]byte(" leading continuation\n")); err == nil {
		t.Error("continuation outside a stanza accepted")
	}
}

func TestUpstreamVersion(t *testing.T) {
	for in, want := range map[string]string{
		"2.36-9+deb12u4":   "2.36",
		"1:1.2.13.dfsg-1":  "1.2.13.dfsg",
		"3.11.2-6+deb12u6": "3.11.2",
		"1.2.4-r2":         "1.2.4",
		"1.2.3":            "1.2.3",
		"a:1-2":            "a:1",
		"":                 "",
	} {
		if got := upstreamVersion(in); got != want {
			t.Errorf("upstreamVersion(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseOSRelease(t *testing.T) {
	got := parseOSRelease([]byte(`# comment
NAME="Debian GNU/Linux"
ID=debian
  VERSION_ID='12'
ESCAPED="a \"quoted\" \$word\\"
EMPTY=
BAD KEY=x
UNTERMINATED="abc
TRAILING="abc"def
bare=has space
9LIVES=x
`))
	want := map[string]string{"NAME": "Debian GNU/Linux", "ID": "debian", "VERSION_ID": "12", "ESCAPED": `a "quoted" $word\`, "EMPTY": ""}
	if len(got) != len(want) {
		t.Errorf("got %q", got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
}

func FuzzParseDpkgStatus(f *testing.F) {
	f.Add([]byte(dpkgDB))
	f.Add([]byte("Package: a\n\n\nPackage: b\nStatus: install ok installed\n"))
	f.Add([]byte("P:musl\nV:1.2.4-r2\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		pkgs, err := parseDpkgStatus(data)
		for _, p := range pkgs {
			if err == nil && p.name == "" {
				t.Errorf("unnamed package %+v", p)
			}
		}
		apk, _ := parseApkInstalled(data)
		for _, p := range apk {
			if p.name == "" {
				t.Errorf("unnamed apk package %+v", p)
			}
			upstreamVersion(p.version)
		}
	})
}

func FuzzParseOSRelease(f *testing.F) {
	f.Add([]byte(osRelease))
	f.Add([]byte(`A="x\"y" B='z' C=w`))
	f.Fuzz(func(t *testing.T, data []byte) {
		for k, v := range parseOSRelease(data) {
			if !validKey(k) || strings.Contains(v, "\n") {
				t.Errorf("bad entry %q=%q", k, v)
			}
		}
	})
}

func FuzzParseELF(f *testing.F) {
	f.Add(fakeELF(elf.EM_X86_64, elf.ET_DYN, glibcLoader, "\x003.11.2\x00"))
	f.Add(fakeELF(elf.EM_AARCH64, elf.ET_EXEC, "", ""))
	f.Add([]byte("\x7fELF"))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := parseELF(data)
		if err == nil && (e.arch == "" || len(e.interp) > maxInterp) {
			t.Errorf("parsed %+v", e)
		}
	})
}

// FuzzInspect feeds arbitrary layer bytes through the whole of Inspect: no
// input may panic or hang it.
func FuzzInspect(f *testing.F) {
	f.Add(tarOf(debianish()))
	f.Add(tarOf(map[string]ent{"usr/bin/python3.11": symlink("python3.11"), "usr/bin/python3": symlink("/usr/bin/../bin/python3")}))
	f.Add(tarOf(map[string]ent{"usr/bin/python3.11": hardlink("usr/bin/python3.11")}))
	f.Fuzz(func(t *testing.T, layer []byte) {
		l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(layer)), nil
		})
		if err != nil {
			return
		}
		img, err := mutate.AppendLayers(empty.Image, l)
		if err != nil {
			return
		}
		info, err := Inspect(img)
		if err == nil && (info.Interpreter == "" || info.PythonVersion == "" || info.Libc.Kind == "") {
			t.Errorf("incomplete info without error: %+v", info)
		}
	})
}
