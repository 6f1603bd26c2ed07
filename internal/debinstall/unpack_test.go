package debinstall

import (
	"archive/tar"
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"io/fs"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kiln-build/kiln/internal/layer"
)

func unpackBytes(tree *layer.Tree, name string, b []byte) (*Unpacked, error) {
	return Unpack(tree, name, bytes.NewReader(b), int64(len(b)))
}

// snapshot is the tar stream of the tree: equal snapshots, equal trees.
func snapshot(t *testing.T, tree *layer.Tree) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := tree.Write(&b, time.Unix(0, 0)); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

func sampleFiles() []tarFile {
	owned := dirEntry("./var/local/", 0o2775)
	owned.hdr.Gid = 50
	suid := regEntry("./usr/bin/suid", 0o4755, "setuid")
	return []tarFile{
		dirEntry("./", 0o755),
		dirEntry("./bin/", 0o755),
		regEntry("./bin/tool", 0o755, "#!/bin/sh\necho tool\n"),
		dirEntry("./etc/", 0o755),
		regEntry("./etc/p.conf", 0o644, "setting=1\n"),
		dirEntry("./lib64/", 0o755),
		dirEntry("./usr/", 0o755),
		dirEntry("./usr/bin/", 0o755),
		suid,
		dirEntry("./var/", 0o755),
		owned,
		symEntry("./bin/sh", "tool"),
		linkEntry("./bin/hard", "./bin/tool"),
		symEntry("./lib64/ld.so", "/lib/x86_64-linux-gnu/ld.so"),
		symEntry("./usr/bin/up", "../../etc/p.conf"),
	}
}

func TestUnpack(t *testing.T) {
	for _, comp := range []string{"gz", "none", "xz", "zst"} {
		t.Run(comp, func(t *testing.T) {
			tree := layer.NewTree()
			if err := MergedUsr(tree, "amd64"); err != nil {
				t.Fatal(err)
			}
			deb := buildDeb(t, debSpec{
				files:   sampleFiles(),
				members: map[string]string{"postinst": "#!/bin/sh\n", "conffiles": "/etc/p.conf\n", "shlibs": "x\n"},
				comp:    comp,
			})
			u, err := unpackBytes(tree, "p_1.0-1_amd64.deb", deb)
			if err != nil {
				t.Fatal(err)
			}
			if u.Package.Name != "tool" || u.Package.Version.String() != "1.0-1" {
				t.Errorf("package %s %s", u.Package.Name, u.Package.Version)
			}
			if want := map[string]bool{"postinst": true}; !reflect.DeepEqual(u.Scripts, want) {
				t.Errorf("Scripts = %v, want %v", u.Scripts, want)
			}
			wantListed := []string{"/.", "/bin", "/bin/tool", "/etc", "/etc/p.conf", "/lib64", "/usr", "/usr/bin", "/usr/bin/suid",
				"/var", "/var/local", "/bin/sh", "/bin/hard", "/lib64/ld.so", "/usr/bin/up"}
			if !reflect.DeepEqual(u.Listed, wantListed) {
				t.Errorf("Listed = %q\nwant %q", u.Listed, wantListed)
			}
			wantFiles := []string{"/etc", "/etc/p.conf", "/usr", "/usr/bin", "/usr/bin/hard", "/usr/bin/sh", "/usr/bin/suid", "/usr/bin/tool",
				"/usr/bin/up", "/usr/lib64", "/usr/lib64/ld.so", "/var", "/var/local"}
			if !reflect.DeepEqual(u.Files, wantFiles) {
				t.Errorf("Files = %q\nwant %q", u.Files, wantFiles)
			}
			tool := "#!/bin/sh\necho tool\n"
			wantSums := md5hex(tool) + "  bin/tool\n" + md5hex("setting=1\n") + "  etc/p.conf\n" + md5hex("setuid") + "  usr/bin/suid\n" + md5hex(tool) + "  bin/hard\n"
			if string(u.MD5Sums) != wantSums {
				t.Errorf("computed MD5Sums =\n%s\nwant\n%s", u.MD5Sums, wantSums)
			}
			checks := []struct {
				path     string
				kind     layer.Kind
				mode     fs.FileMode
				gid      int
				data     string
				target   string
				explicit bool
			}{
				{path: "usr/bin/tool", kind: layer.Regular, mode: 0o755, data: tool},
				{path: "usr/bin/hard", kind: layer.Regular, mode: 0o755, data: tool},
				{path: "usr/bin/suid", kind: layer.Regular, mode: 0o755 | fs.ModeSetuid, data: "setuid"},
				{path: "usr/bin/sh", kind: layer.Symlink, mode: 0o777, target: "tool"},
				{path: "usr/bin/up", kind: layer.Symlink, mode: 0o777, target: "../../etc/p.conf"},
				{path: "usr/lib64/ld.so", kind: layer.Symlink, mode: 0o777, target: "/lib/x86_64-linux-gnu/ld.so"},
				{path: "var/local", kind: layer.Dir, mode: 0o775 | fs.ModeSetgid, gid: 50},
				{path: "bin", kind: layer.Symlink, mode: 0o777, target: "usr/bin"},
				{path: "var/lib/dpkg/info/tool.list", kind: layer.Regular, mode: 0o644, data: strings.Join(wantListed, "\n") + "\n"},
				{path: "var/lib/dpkg/info/tool.md5sums", kind: layer.Regular, mode: 0o644, data: wantSums},
				{path: "var/lib/dpkg/info/tool.conffiles", kind: layer.Regular, mode: 0o644, data: "/etc/p.conf\n"},
			}
			for _, c := range checks {
				e, ok := tree.Get(c.path)
				if !ok {
					t.Errorf("%s missing", c.path)
					continue
				}
				if e.Kind != c.kind || e.Mode != c.mode || e.GID != c.gid || string(e.Data) != c.data || e.Target != c.target {
					t.Errorf("%s = kind %d mode %v gid %d target %q data %q; want kind %d mode %v gid %d target %q data %q",
						c.path, e.Kind, e.Mode, e.GID, e.Target, e.Data, c.kind, c.mode, c.gid, c.target, c.data)
				}
			}
			if _, ok := tree.Get("bin/tool"); ok {
				t.Error("bin/tool was placed under /bin instead of /usr/bin")
			}
			if want := []conffile{{"/etc/p.conf", md5hex("setting=1\n")}}; !reflect.DeepEqual(u.conffiles, want) {
				t.Errorf("conffiles = %v, want %v", u.conffiles, want)
			}
		})
	}
}

func TestUnpackKeepsShippedMD5Sums(t *testing.T) {
	sums := "0123456789abcdef0123456789abcdef  bin/tool\n"
	deb := buildDeb(t, debSpec{files: []tarFile{regEntry("./bin/tool", 0o755, "x")}, members: map[string]string{"md5sums": sums}})
	u, err := unpackBytes(layer.NewTree(), "p.deb", deb)
	if err != nil {
		t.Fatal(err)
	}
	if string(u.MD5Sums) != sums {
		t.Errorf("MD5Sums = %q, want the shipped %q", u.MD5Sums, sums)
	}
}

func TestUnpackSharedDirectoriesAndReinstall(t *testing.T) {
	tree := layer.NewTree()
	a := buildDeb(t, debSpec{control: controlFor("alpha"), files: []tarFile{
		dirEntry("./usr/", 0o755), dirEntry("./usr/share/", 0o750), regEntry("./usr/share/a", 0o644, "a"),
	}})
	b := buildDeb(t, debSpec{control: controlFor("beta"), files: []tarFile{
		dirEntry("./usr/", 0o755), dirEntry("./usr/share/", 0o700), regEntry("./usr/share/b", 0o644, "b"),
		dirEntry("./lib/", 0o755), dirEntry("./usr/lib/", 0o755),
	}})
	for _, d := range []struct {
		name string
		data []byte
	}{{"a.deb", a}, {"b.deb", b}, {"a.deb again", a}} {
		if _, err := unpackBytes(tree, d.name, d.data); err != nil {
			t.Fatalf("%s: %v", d.name, err)
		}
	}
	if e, _ := tree.Get("usr/share"); e.Mode != 0o750 {
		t.Errorf("usr/share mode %v, want the first package's 0750 (dpkg keeps existing directories)", e.Mode)
	}
}

func TestUnpackRefuses(t *testing.T) {
	base := buildDeb(t, debSpec{control: controlFor("base"), files: []tarFile{
		dirEntry("./", 0o755), dirEntry("./usr/", 0o755), dirEntry("./usr/bin/", 0o755),
		regEntry("./usr/bin/basetool", 0o755, "base"),
		dirEntry("./usr/share/", 0o755),
		symEntry("./usr/alt", "share"),
	}})
	dev := tarFile{hdr: tar.Header{Name: "./dev/null", Typeflag: tar.TypeChar, Mode: 0o666, Devmajor: 1, Devminor: 3}}
	blk := tarFile{hdr: tar.Header{Name: "./dev/sda", Typeflag: tar.TypeBlock, Mode: 0o660, Devmajor: 8}}
	fifo := tarFile{hdr: tar.Header{Name: "./run/fifo", Typeflag: tar.TypeFifo, Mode: 0o644}}
	cases := []struct {
		name    string
		spec    debSpec
		entry   string   // the entry the error must name
		details []string // more words the error must contain
	}{
		{"dotdot", debSpec{files: []tarFile{regEntry("./../etc/passwd", 0o644, "x")}}, "./../etc/passwd", []string{`".."`}},
		{"dotdot inside", debSpec{files: []tarFile{regEntry("./usr/../../x", 0o644, "x")}}, "./usr/../../x", []string{`".."`}},
		{"absolute", debSpec{files: []tarFile{regEntry("/etc/passwd", 0o644, "x")}}, "/etc/passwd", []string{"absolute"}},
		{"symlink escapes", debSpec{files: []tarFile{symEntry("./usr/share/esc", "../../../etc/shadow")}}, "./usr/share/esc", []string{"leaves the image root"}},
		{"symlink to parent of root", debSpec{files: []tarFile{symEntry("./up", "..")}}, "./up", []string{"leaves the image root"}},
		{"symlink escapes from bin", debSpec{files: []tarFile{symEntry("./bin/esc", "../../../x")}}, "./bin/esc", []string{"leaves the image root"}},
		{"char device", debSpec{files: []tarFile{dev}}, "./dev/null", []string{"device"}},
		{"block device", debSpec{files: []tarFile{blk}}, "./dev/sda", []string{"device"}},
		{"fifo", debSpec{files: []tarFile{fifo}}, "./run/fifo", []string{"pipe"}},
		{"hard link to nothing", debSpec{files: []tarFile{linkEntry("./usr/x", "./usr/missing")}}, "./usr/x", []string{"hard link"}},
		{"hard link outside", debSpec{files: []tarFile{linkEntry("./usr/x", "../etc/passwd")}}, "./usr/x", []string{"hard link"}},
		{"file of another package", debSpec{control: controlFor("evil"), files: []tarFile{regEntry("./usr/bin/basetool", 0o755, "evil")}},
			"./usr/bin/basetool", []string{"package base", "package evil"}},
		{"file of another package via /bin", debSpec{control: controlFor("evil"), files: []tarFile{regEntry("./bin/basetool", 0o755, "evil")}},
			"./bin/basetool", []string{"package base", "package evil", "/usr/bin/basetool"}},
		{"file over a directory", debSpec{files: []tarFile{regEntry("./usr/share", 0o644, "x")}}, "./usr/share", []string{"directory", "package base"}},
		{"symlink over a file", debSpec{files: []tarFile{symEntry("./usr/bin/basetool", "x")}}, "./usr/bin/basetool", []string{"package base"}},
		{"through another package's symlink", debSpec{files: []tarFile{regEntry("./usr/alt/x", 0o644, "x")}}, "./usr/alt/x", []string{"/usr/alt", "package base"}},
		{"through a merged-/usr link", debSpec{files: []tarFile{dirEntry("./usr/", 0o755), regEntry("./usr/bin/basetool/x", 0o644, "x")}}, "./usr/bin/basetool/x", []string{"package base"}},
		{"twice after canonicalisation", debSpec{files: []tarFile{regEntry("./bin/a", 0o755, "1"), regEntry("./usr/bin/a", 0o755, "2")}}, "./usr/bin/a", []string{"./bin/a"}},
		{"file then below it", debSpec{files: []tarFile{regEntry("./opt/a", 0o755, "1"), regEntry("./opt/a/b", 0o755, "2")}}, "./opt/a/b", nil},
		{"conffile not shipped", debSpec{members: map[string]string{"conffiles": "/etc/none\n"}, files: []tarFile{regEntry("./etc/x", 0o644, "x")}}, "conffiles", []string{"/etc/none"}},
		{"bad package name", debSpec{control: controlFor("../../x"), files: []tarFile{regEntry("./etc/x", 0o644, "x")}}, "control", []string{"invalid package name"}},
		{"status in control", debSpec{control: controlFor("tool") + "Status: install ok installed\n"}, "control", []string{"Status"}},
		{"two stanzas", debSpec{control: controlFor("tool") + "\n" + controlFor("other")}, "control", []string{"2 stanzas"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tree := layer.NewTree()
			if err := MergedUsr(tree, "amd64"); err != nil {
				t.Fatal(err)
			}
			if _, err := unpackBytes(tree, "base_1_amd64.deb", base); err != nil {
				t.Fatal(err)
			}
			before := snapshot(t, tree)
			_, err := unpackBytes(tree, "evil_1_amd64.deb", buildDeb(t, c.spec))
			if err == nil {
				t.Fatal("Unpack accepted it")
			}
			for _, want := range append([]string{"evil_1_amd64.deb", c.entry}, c.details...) {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
			if !bytes.Equal(snapshot(t, tree), before) {
				t.Error("the refused package changed the tree")
			}
		})
	}
}

func TestUnpackBadContainer(t *testing.T) {
	good := buildDeb(t, debSpec{files: []tarFile{regEntry("./etc/x", 0o644, "x")}})
	ctl := mustTar(t, []tarFile{regEntry("./control", 0o644, controlFor("tool"))})
	data := mustTar(t, []tarFile{regEntry("./etc/x", 0o644, "x")})
	cases := map[string]struct {
		deb  []byte
		want string
	}{
		"empty":            {nil, "not an ar archive"},
		"truncated":        {good[:len(good)-20], "bytes, but only"},
		"no debian-binary": {arArchive(arFile{"control.tar", ctl}, arFile{"data.tar", data}), "debian-binary"},
		"format 3":         {arArchive(arFile{"debian-binary", []byte("3.0\n")}, arFile{"control.tar", ctl}, arFile{"data.tar", data}), `"3.0"`},
		"no data":          {arArchive(arFile{"debian-binary", []byte("2.0\n")}, arFile{"control.tar", ctl}), "no data.tar"},
		"data first":       {arArchive(arFile{"debian-binary", []byte("2.0\n")}, arFile{"data.tar", data}, arFile{"control.tar", ctl}), `"data.tar"`},
		"lzma":             {arArchive(arFile{"debian-binary", []byte("2.0\n")}, arFile{"control.tar", ctl}, arFile{"data.tar.lzma", data}), "unsupported compression"},
		"corrupt gzip":     {arArchive(arFile{"debian-binary", []byte("2.0\n")}, arFile{"control.tar.gz", ctl}), "control.tar.gz"},
		"no control":       {arArchive(arFile{"debian-binary", []byte("2.0\n")}, arFile{"control.tar", data}, arFile{"data.tar", data}), "no control file"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			tree := layer.NewTree()
			_, err := unpackBytes(tree, "x.deb", c.deb)
			if err == nil || !strings.Contains(err.Error(), "x.deb") || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one naming x.deb and %q", err, c.want)
			}
			if tree.Len() != 0 {
				t.Error("a refused package changed the tree")
			}
		})
	}
	// Members named with a leading underscore are extensions dpkg skips.
	ext := arArchive(arFile{"debian-binary", []byte("2.0\n")}, arFile{"_gpgorigin", []byte("sig")}, arFile{"control.tar", ctl}, arFile{"data.tar", data})
	if _, err := unpackBytes(layer.NewTree(), "ext.deb", ext); err != nil {
		t.Errorf("a _member: %v", err)
	}
}

func TestMergedUsr(t *testing.T) {
	for arch, want := range map[string][]string{
		"amd64": {"bin", "lib", "lib32", "lib64", "libx32", "sbin"},
		"arm64": {"bin", "lib", "sbin"},
	} {
		tree := layer.NewTree()
		for i := 0; i < 2; i++ { // a second call finds the links and keeps them
			if err := MergedUsr(tree, arch); err != nil {
				t.Fatalf("%s: %v", arch, err)
			}
		}
		var links []string
		for _, e := range tree.Entries() {
			if e.Kind == layer.Symlink {
				links = append(links, e.Path)
				if e.Target != "usr/"+e.Path {
					t.Errorf("%s: %s -> %s", arch, e.Path, e.Target)
				}
				if d, ok := tree.Get("usr/" + e.Path); !ok || d.Kind != layer.Dir || d.Mode != 0o755 {
					t.Errorf("%s: usr/%s is not a 0755 directory", arch, e.Path)
				}
			}
		}
		if !reflect.DeepEqual(links, want) {
			t.Errorf("%s: links %v, want %v", arch, links, want)
		}
	}
	tree := layer.NewTree()
	if err := tree.AddFile("lib64/x", 0o644, nil); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, tree)
	if err := MergedUsr(tree, "amd64"); err == nil || !strings.Contains(err.Error(), "/lib64") {
		t.Errorf("MergedUsr over a real /lib64: %v", err)
	}
	if !bytes.Equal(before, snapshot(t, tree)) {
		t.Error("a refused MergedUsr changed the tree")
	}
}

// A backslash is an ordinary byte of a Linux file name: systemd ships
// "system-systemd\x2dcryptsetup.slice".
func TestUnpackKeepsBackslashNames(t *testing.T) {
	tree := layer.NewTree()
	b := buildDeb(t, debSpec{files: []tarFile{dirEntry("./", 0o755), regEntry(`./lib/systemd/system/system-systemd\x2dcryptsetup.slice`, 0o644, "x")}})
	if _, err := unpackBytes(tree, "systemd.deb", b); err != nil {
		t.Fatal(err)
	}
	if _, ok := tree.Get(`usr/lib/systemd/system/system-systemd\x2dcryptsetup.slice`); !ok {
		t.Fatal("the file is not in the tree under its merged-/usr name")
	}
}
