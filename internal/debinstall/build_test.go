package debinstall

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// This file builds .debs by hand (ar + tar), so tests can make packages
// dpkg-deb would refuse to build.

type tarFile struct {
	hdr  tar.Header
	body string
}

func dirEntry(name string, mode int64) tarFile {
	return tarFile{hdr: tar.Header{Name: name, Typeflag: tar.TypeDir, Mode: mode}}
}

func regEntry(name string, mode int64, body string) tarFile {
	return tarFile{hdr: tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: mode, Size: int64(len(body))}, body: body}
}

func symEntry(name, target string) tarFile {
	return tarFile{hdr: tar.Header{Name: name, Typeflag: tar.TypeSymlink, Mode: 0o777, Linkname: target}}
}

func linkEntry(name, target string) tarFile {
	return tarFile{hdr: tar.Header{Name: name, Typeflag: tar.TypeLink, Mode: 0o755, Linkname: target}}
}

type debSpec struct {
	control string            // the control file; controlFor("tool") when empty
	members map[string]string // further control.tar members (md5sums, postinst, ...)
	files   []tarFile
	comp    string // "gz" (default), "none", "xz" or "zst"
}

func controlFor(name string) string {
	return "Package: " + name + "\nVersion: 1.0-1\nArchitecture: amd64\nMaintainer: Test <t@example.org>\nDescription: test package\n a synthetic package\n"
}

func mustTar(tb testing.TB, files []tarFile) []byte {
	tb.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, f := range files {
		hdr := f.hdr
		if hdr.Typeflag == tar.TypeReg {
			hdr.Size = int64(len(f.body))
		}
		hdr.Format = tar.FormatGNU
		if err := tw.WriteHeader(&hdr); err != nil {
			tb.Fatalf("tar header %s: %v", hdr.Name, err)
		}
		if _, err := io.WriteString(tw, f.body); err != nil {
			tb.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

func compress(tb testing.TB, comp string, data []byte) (suffix string, out []byte) {
	tb.Helper()
	var b bytes.Buffer
	var w io.WriteCloser
	var err error
	switch comp {
	case "", "gz":
		suffix, w = ".gz", gzip.NewWriter(&b)
	case "none":
		return "", data
	case "xz":
		suffix = ".xz"
		w, err = xz.NewWriter(&b)
	case "zst":
		suffix = ".zst"
		w, err = zstd.NewWriter(&b)
	default:
		tb.Fatalf("unknown compression %q", comp)
	}
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		tb.Fatal(err)
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return suffix, b.Bytes()
}

type arFile struct {
	name string
	data []byte
}

func arArchive(members ...arFile) []byte {
	var b bytes.Buffer
	b.WriteString(arMagic)
	for _, m := range members {
		fmt.Fprintf(&b, "%-16s%-12d%-6d%-6d%-8s%-10d`\n", m.name, 0, 0, 0, "100644", len(m.data))
		b.Write(m.data)
		if len(m.data)%2 == 1 {
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}

func buildDeb(tb testing.TB, s debSpec) []byte {
	tb.Helper()
	control := s.control
	if control == "" {
		control = controlFor("tool")
	}
	ctl := []tarFile{dirEntry("./", 0o755), regEntry("./control", 0o644, control)}
	for name, body := range s.members {
		ctl = append(ctl, regEntry("./"+name, 0o755, body))
	}
	csuf, cdata := compress(tb, s.comp, mustTar(tb, ctl))
	dsuf, ddata := compress(tb, s.comp, mustTar(tb, s.files))
	return arArchive(
		arFile{"debian-binary", []byte("2.0\n")},
		arFile{"control.tar" + csuf, cdata},
		arFile{"data.tar" + dsuf, ddata},
	)
}
