package debinstall

import (
	"archive/tar"
	"bytes"
	"io"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/kiln-build/kiln/internal/layer"
)

// FuzzUnpack feeds arbitrary bytes to Unpack: it must return an error or a
// package, never panic, and change the tree only when it succeeds.
func FuzzUnpack(f *testing.F) {
	for _, comp := range []string{"none", "gz", "xz", "zst"} {
		f.Add(buildDeb(f, debSpec{files: sampleFiles(), comp: comp, members: map[string]string{"conffiles": "/etc/p.conf\n", "postinst": "#!/bin/sh\n"}}))
	}
	f.Add(buildDeb(f, debSpec{comp: "none", files: []tarFile{regEntry("./../x", 0o644, "x"), symEntry("./y", "../..")}}))
	f.Add([]byte(arMagic))
	f.Add([]byte("!<arch>\ndebian-binary   0           0     0     100644  4         `\n2.0\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		tree := layer.NewTree()
		if err := MergedUsr(tree, "amd64"); err != nil {
			t.Fatal(err)
		}
		n := tree.Len()
		u, err := Unpack(tree, "fuzz.deb", bytes.NewReader(b), int64(len(b)))
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz.deb") {
				t.Errorf("error %q does not name the deb", err)
			}
			if tree.Len() != n {
				t.Error("a refused package changed the tree")
			}
			return
		}
		for _, p := range u.Files {
			if _, ok := tree.Get(p); !ok {
				t.Errorf("Files names %s, which is not in the tree", p)
			}
		}
		if err := Database(tree, nil, []*Unpacked{u}); err != nil {
			t.Errorf("Database after a successful Unpack: %v", err)
		}
	})
}

// FuzzEntries builds packages from fuzzed entry names, types and link
// targets, which FuzzUnpack rarely reaches past the tar checksums, and checks
// what an accepted package may do to the tree.
func FuzzEntries(f *testing.F) {
	f.Add("./bin/tool", "", byte(1), "./bin/sh", "tool", byte(2))
	f.Add("./usr/x", "../../../etc", byte(2), "./usr/y", "./usr/x", byte(3))
	f.Add("./lib64/ld", "/lib/x86_64-linux-gnu/ld", byte(2), "./usr/bin/base", "", byte(1))
	f.Add("./a", "", byte(0), "./a/../../b", "", byte(1))
	types := []byte{tar.TypeDir, tar.TypeReg, tar.TypeSymlink, tar.TypeLink, tar.TypeChar, tar.TypeFifo}
	base := buildDeb(f, debSpec{control: controlFor("base"), comp: "none", files: []tarFile{regEntry("./usr/bin/base", 0o755, "base")}})
	f.Fuzz(func(t *testing.T, name1, target1 string, type1 byte, name2, target2 string, type2 byte) {
		var files []tarFile
		for _, e := range []struct {
			name, target string
			typ          byte
		}{{name1, target1, type1}, {name2, target2, type2}} {
			hdr := tar.Header{Name: e.name, Linkname: e.target, Typeflag: types[int(e.typ)%len(types)], Mode: 0o755}
			files = append(files, tarFile{hdr: hdr, body: ""})
		}
		var data bytes.Buffer
		tw := tar.NewWriter(&data)
		for _, fl := range files {
			fl.hdr.Format = tar.FormatGNU
			if tw.WriteHeader(&fl.hdr) != nil {
				return // not representable in a tar
			}
		}
		if tw.Close() != nil {
			return
		}
		ctl := mustTar(t, []tarFile{regEntry("./control", 0o644, controlFor("fuzz"))})
		deb := arArchive(arFile{"debian-binary", []byte("2.0\n")}, arFile{"control.tar", ctl}, arFile{"data.tar", data.Bytes()})

		tree := layer.NewTree()
		if err := MergedUsr(tree, "amd64"); err != nil {
			t.Fatal(err)
		}
		if _, err := unpackBytes(tree, "base.deb", base); err != nil {
			t.Fatal(err)
		}
		var before bytes.Buffer
		if err := tree.Write(&before, time.Unix(0, 0)); err != nil {
			t.Fatal(err)
		}
		if _, err := unpackBytes(tree, "fuzz.deb", deb); err != nil {
			if !strings.Contains(err.Error(), "fuzz.deb") {
				t.Errorf("error %q does not name the deb", err)
			}
			var after bytes.Buffer
			if err := tree.Write(&after, time.Unix(0, 0)); err != nil || !bytes.Equal(before.Bytes(), after.Bytes()) {
				t.Errorf("a refused package changed the tree (%v)", err)
			}
			return
		}
		for _, e := range tree.Entries() {
			if first, rest, _ := strings.Cut(e.Path, "/"); aliased[first] && rest != "" {
				t.Errorf("%s was placed below a merged-/usr link", e.Path)
			}
			if e.Kind == layer.Symlink && !strings.HasPrefix(e.Target, "/") {
				if r := path.Join(path.Dir(e.Path), e.Target); r == ".." || strings.HasPrefix(r, "../") {
					t.Errorf("%s -> %s leaves the root", e.Path, e.Target)
				}
			}
		}
		if e, ok := tree.Get("usr/bin/base"); !ok || e.Kind != layer.Regular || string(e.Data) != "base" {
			t.Error("another package's file was replaced")
		}
		if err := tree.Write(io.Discard, time.Unix(0, 0)); err != nil {
			t.Errorf("the tree no longer writes: %v", err)
		}
	})
}
