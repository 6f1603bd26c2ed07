package ldcache

import (
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/kiln-build/kiln/internal/ldso"
)

// amd64Root builds an image root that exercises what ldconfig does with
// configuration, links and odd files, from copies of host libraries and
// made-up objects.
func amd64Root(t *testing.T) *tree {
	tr := newTree(t)
	const ma = "usr/lib/x86_64-linux-gnu"
	for _, l := range []struct{ name, soname, link string }{
		{"libc.so.6", "", ""},
		{"ld-linux-x86-64.so.2", "", ""},
		{"libz.so.1.2.13", "libz.so.1", "libz.so"},
		{"libexpat.so.1.8.10", "libexpat.so.1", ""},
		{"libffi.so.8.1.2", "libffi.so.8", ""},
	} {
		tr.copyHost(ma+"/"+l.name, "/lib/x86_64-linux-gnu/"+l.name)
		if l.soname != "" {
			tr.link(ma+"/"+l.soname, l.name)
		}
		if l.link != "" {
			tr.link(ma+"/"+l.link, l.soname)
		}
	}
	obj := func(name string, s elfSpec) {
		if s.machine == 0 {
			s.machine = emX8664
		}
		tr.file(name, buildELF(s))
	}
	tr.link("lib", "usr/lib") // merged /usr: /lib/x86_64-linux-gnu is the same directory
	tr.text("etc/ld.so.conf", "include /etc/ld.so.conf.d/*.conf\nhwcap 1 nosegneg\n")
	tr.text("etc/ld.so.conf.d/a.conf", "/opt/a/lib   # first\n  /usr/local/lib\n/opt/dup\n/opt/typed=libc6\n/opt/spaced dir/\n")
	// Not a nested include: ldconfig -r run by a user other than root
	// globs those outside the root.
	tr.text("etc/ld.so.conf.d/b.conf", "# multiarch\n/lib/x86_64-linux-gnu\n/usr/lib/x86_64-linux-gnu/\n")
	tr.text("etc/ld.so.conf.d/.hidden.conf", "/opt/hidden\n")
	tr.text("etc/ld.so.conf.d/skip.conf.disabled", "/opt/hidden\n")
	obj("opt/hidden/libhidden.so.1", elfSpec{soname: "libhidden.so.1"})
	obj("opt/typed/libtyped.so.1", elfSpec{soname: "libtyped.so.1"})
	obj("opt/spaced dir/libspace.so.1", elfSpec{soname: "libspace.so.1"})
	tr.link("opt/dup", "/opt/a/lib")
	// The same soname in two directories: the configured one ranks first.
	tr.copyHost("opt/a/lib/libz.so.1.2.13", "/lib/x86_64-linux-gnu/libz.so.1.2.13")
	tr.link("opt/a/lib/libz.so.1", "libz.so.1.2.13")
	// Names equal as numbers, in different directories.
	obj("opt/a/lib/libq.so.01", elfSpec{})
	obj(ma+"/libq.so.1", elfSpec{})
	// Made-up objects without a soname are recorded under their names,
	// which exercises the sort order.
	for _, n := range []string{"libfoo.so.10", "libfoo.so.9", "libfoo.so.1.2", "libfoo-2.so", "libA.so", "liba.so", "lib\xc3\xa9.so", "ld.so.1", "ld64.so.2", "libx.so.2.0.10", "libx.so.2.0.9"} {
		obj(ma+"/"+n, elfSpec{})
	}
	obj(ma+"/libiso.so.1.0", elfSpec{soname: "libiso.so.1", isaNeeded: 4})
	tr.link(ma+"/libiso.so.1", "libiso.so.1.0")
	// A link that is neither the soname nor a development link counts as
	// a copy of the library; the file is preferred.
	tr.link(ma+"/libiso.so.1.0.0", "libiso.so.1.0")
	// Things ldconfig passes over.
	tr.text(ma+"/libc.so", "/* GNU ld script */\nGROUP ( /lib/x86_64-linux-gnu/libc.so.6 )\n")
	tr.link(ma+"/libgone.so.1", "libgone.so.1.0")
	tr.text(ma+"/notalib.txt", "hello")
	tr.dir(ma + "/libdir.so")
	tr.copyHost(ma+"/libz.so.1.2.13.dpkg-new", "/lib/x86_64-linux-gnu/libz.so.1.2.13")
	obj(ma+"/libexec.so.1", elfSpec{soname: "libexec.so.1", typ: 2})
	obj(ma+"/libnodyn.so.1", elfSpec{soname: "libnodyn.so.1", noDynamic: true})
	tr.file(ma+"/libtrunc.so.1", buildELF(elfSpec{soname: "libtrunc.so.1"})[:40])
	// glibc-hwcaps subdirectories record file names, not sonames.
	hw := ma + "/glibc-hwcaps/"
	obj(hw+"x86-64-v3/libiso.so.1.0", elfSpec{soname: "libiso.so.1", isaNeeded: 4})
	tr.link(hw+"x86-64-v3/libiso.so.1", "libiso.so.1.0")
	tr.copyHost(hw+"x86-64-v3/libz.so.1.2.13", "/lib/x86_64-linux-gnu/libz.so.1.2.13")
	obj(hw+"x86-64-v2/libiso.so.1.0", elfSpec{soname: "libiso.so.1", isaNeeded: 2})
	obj(hw+"x86-64-v4/libiso.so.1.0", elfSpec{soname: "libiso.so.1", isaNeeded: 0xf})
	tr.dir(hw + ".hidden")
	tr.text(hw+"file", "")
	// /usr/lib is scanned once though reached as /lib too; lib64 is not
	// a Debian default directory.
	obj("usr/lib/libtop.so.1", elfSpec{soname: "libtop.so.1"})
	obj("usr/lib64/lib64.so.1", elfSpec{soname: "lib64.so.1"})
	return tr
}

// runLdconfig has the host's ldconfig write the cache of root to name
// inside it, without touching links, and returns the file.
func runLdconfig(t *testing.T, root string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(ldconfig(t), append([]string{"-r", root, "-C", "/ref.cache", "-X"}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %v\n%s", cmd.Args, err, out)
	}
	b, err := os.ReadFile(filepath.Join(root, "ref.cache"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestScanMatchesLdconfig compares Scan and Write with the real ldconfig
// on the same root: the caches must be byte-identical but for the
// generator string.
func TestScanMatchesLdconfig(t *testing.T) {
	ldconfig(t)
	tr := amd64Root(t)
	entries, err := Scan(ldso.DirFS(tr.root), "amd64")
	if err != nil {
		t.Fatal(err)
	}
	ref := runLdconfig(t, tr.root)
	refCache, err := parse(ref)
	if err != nil {
		t.Fatal(err)
	}
	got, err := write(entries, "amd64", refCache.generator)
	if err != nil {
		t.Fatal(err)
	}
	written, err := Parse(got)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(written, refCache.entries) {
		t.Errorf("entries differ from ldconfig's:\n%s", diffEntries(written, refCache.entries))
	}
	if !bytes.Equal(got, ref) {
		t.Errorf("cache differs from ldconfig's (%d vs %d bytes)", len(got), len(ref))
	}
	// The root holds what the checks above are meant to exercise.
	paths := map[string]Entry{}
	for _, e := range written {
		paths[e.Path] = e
	}
	for _, p := range []string{
		"/opt/a/lib/libz.so.1", "/lib/x86_64-linux-gnu/libz.so",
		"/opt/typed/libtyped.so.1", "/opt/spaced dir/libspace.so.1", "/lib/libtop.so.1",
		"/lib/x86_64-linux-gnu/glibc-hwcaps/x86-64-v3/libiso.so.1.0", "/lib/x86_64-linux-gnu/lib\xc3\xa9.so",
	} {
		if _, ok := paths[p]; !ok {
			t.Errorf("no entry for %s", p)
		}
	}
	if e := paths["/lib/x86_64-linux-gnu/glibc-hwcaps/x86-64-v4/libiso.so.1.0"]; e.HWCap != HWCapExtension|3<<32 {
		t.Errorf("x86-64-v4 entry hwcap %#x, want ISA level 3", e.HWCap)
	}
	for _, e := range written {
		if strings.Contains(e.Path, "hidden") || strings.Contains(e.Path, "lib64") || strings.Contains(e.Soname, "exec") {
			t.Errorf("unexpected entry %s => %s", e.Soname, e.Path)
		}
	}
}

func diffEntries(got, want []Entry) string {
	var b strings.Builder
	for i := range max(len(got), len(want)) {
		var g, w Entry
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		mark := "  "
		if g != w {
			mark = "! "
		}
		b.WriteString(mark + describeEntry(g) + "  |  " + describeEntry(w) + "\n")
	}
	return b.String()
}

func describeEntry(e Entry) string {
	l := describe(e)
	return l.soname + " (" + l.desc + ") => " + l.path
}

// TestParseOtherFormats reads the compat and old formats as the host's
// ldconfig writes them.
func TestParseOtherFormats(t *testing.T) {
	ldconfig(t)
	tr := amd64Root(t)
	want, err := Parse(runLdconfig(t, tr.root))
	if err != nil {
		t.Fatal(err)
	}
	compat, err := Parse(runLdconfig(t, tr.root, "-c", "compat"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(compat, want) {
		t.Errorf("compat format:\n%s", diffEntries(compat, want))
	}
	old, err := Parse(runLdconfig(t, tr.root, "-c", "old"))
	if err != nil {
		t.Fatal(err)
	}
	// The old format has no hwcap words.
	for i := range want {
		want[i].HWCap, want[i].HWCaps = 0, ""
	}
	if !reflect.DeepEqual(old, want) {
		t.Errorf("old format:\n%s", diffEntries(old, want))
	}
}

func TestScanRules(t *testing.T) {
	tr := newTree(t)
	obj := func(name, soname string) { tr.file(name, buildELF(elfSpec{machine: emX8664, soname: soname})) }
	tr.text("etc/ld.so.conf", "include ld.so.conf.d/*.conf\n/opt/first\n")
	tr.text("etc/ld.so.conf.d/loop.conf", "include /etc/ld.so.conf\n/opt/looped # comment\n")
	tr.link("etc/ld.so.conf.d/link.conf", "/srv/conf")
	tr.text("srv/conf", "include more/*\n/opt/linked\n")
	// Relative to the name the file was included by, not its target.
	tr.text("etc/ld.so.conf.d/more/x", "/opt/nested\n")
	obj("opt/nested/libnested.so.1", "libnested.so.1")
	obj("opt/first/libfirst.so.1", "libfirst.so.1")
	obj("opt/looped/liblooped.so.1", "liblooped.so.1")
	obj("opt/linked/liblinked.so.1", "liblinked.so.1")
	// Versions: the newest file wins, and files win over links, but a
	// link that is neither the soname nor a development link is a file.
	obj("usr/lib/x86_64-linux-gnu/libv.so.1.10", "libv.so.1")
	obj("usr/lib/x86_64-linux-gnu/libv.so.1.9", "libv.so.1")
	obj("usr/lib/x86_64-linux-gnu/glibc-hwcaps/x86-64-v3/libv.so.1.9", "libv.so.1")
	obj("usr/lib/x86_64-linux-gnu/glibc-hwcaps/x86-64-v3/libv.so.1.10", "libv.so.1")
	tr.link("usr/lib/x86_64-linux-gnu/glibc-hwcaps/x86-64-v3/libv.so.1.99", "libv.so.1.9")
	// Another machine's object is not ours.
	tr.file("usr/lib/x86_64-linux-gnu/libarm.so.1", buildELF(elfSpec{machine: emAArch64, soname: "libarm.so.1"}))

	got, err := Scan(ldso.DirFS(tr.root), "amd64")
	if err != nil {
		t.Fatal(err)
	}
	amd := int32(FlagELFLibc6 | FlagX8664Lib64)
	want := []Entry{
		{Soname: "libnested.so.1", Path: "/opt/nested/libnested.so.1", Flags: amd},
		{Soname: "liblinked.so.1", Path: "/opt/linked/liblinked.so.1", Flags: amd},
		{Soname: "liblooped.so.1", Path: "/opt/looped/liblooped.so.1", Flags: amd},
		{Soname: "libfirst.so.1", Path: "/opt/first/libfirst.so.1", Flags: amd},
		{Soname: "libv.so.1", Path: "/usr/lib/x86_64-linux-gnu/libv.so.1", Flags: amd},
		{Soname: "libv.so.1", Path: "/usr/lib/x86_64-linux-gnu/glibc-hwcaps/x86-64-v3/libv.so.1.99", Flags: amd, HWCaps: "x86-64-v3", HWCap: HWCapExtension},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Scan:\n%s", diffEntries(got, want))
	}
}

func TestScanErrors(t *testing.T) {
	if _, err := Scan(ldso.DirFS(t.TempDir()), "ppc64el"); err == nil {
		t.Error("Scan accepted an unknown architecture")
	}
	tr := newTree(t)
	tr.link("etc/ld.so.conf", "ld.so.conf")
	got, err := Scan(ldso.DirFS(tr.root), "amd64")
	if err != nil || len(got) != 0 {
		t.Errorf("Scan with a looping ld.so.conf = %v, %v; want nothing", got, err)
	}
}

// TestScanArm64 scans an arm64 root with the cross toolchain's libraries
// when the host has them, and made-up objects otherwise, and checks the
// entries against the sonames debug/elf reads from their sections.
func TestScanArm64(t *testing.T) {
	tr := newTree(t)
	const ma = "usr/lib/aarch64-linux-gnu"
	tr.link("lib", "usr/lib")
	cross := "/usr/aarch64-linux-gnu/lib"
	for _, n := range []string{"libc.so.6", "ld-linux-aarch64.so.1", "libm.so.6", "libgcc_s.so.1", "libatomic.so.1.2.0"} {
		b, err := os.ReadFile(filepath.Join(cross, n))
		if err != nil {
			continue
		}
		tr.file(ma+"/"+n, b)
	}
	made := map[string]string{"libmade.so.2.0": "libmade.so.2"}
	for n, soname := range made {
		tr.file(ma+"/"+n, buildELF(elfSpec{machine: emAArch64, soname: soname}))
	}
	// amd64 objects in an arm64 image are ignored.
	tr.file(ma+"/libamd.so.1", buildELF(elfSpec{machine: emX8664, soname: "libamd.so.1"}))

	got, err := Scan(ldso.DirFS(tr.root), "arm64")
	if err != nil {
		t.Fatal(err)
	}
	var want []Entry
	ents, err := os.ReadDir(filepath.Join(tr.root, ma))
	if err != nil {
		t.Fatal(err)
	}
	for _, de := range ents {
		soname, ok := made[de.Name()]
		if !ok {
			f, err := elf.Open(filepath.Join(tr.root, ma, de.Name()))
			if err != nil {
				t.Fatal(err)
			}
			names, err := f.DynString(elf.DT_SONAME)
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			if f.Machine != elf.EM_AARCH64 {
				continue
			}
			soname = de.Name()
			if len(names) > 0 {
				soname = names[0]
			}
		}
		want = append(want, Entry{Soname: soname, Path: "/lib/aarch64-linux-gnu/" + soname, Flags: FlagELFLibc6 | FlagAArch64Lib64})
	}
	t.Logf("%d libraries, %d from the cross toolchain", len(want), len(want)-len(made))
	key := func(a, b Entry) int { return strings.Compare(a.Path, b.Path) }
	slices.SortFunc(got, key)
	slices.SortFunc(want, key)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Scan:\n%s", diffEntries(got, want))
	}

	data, err := Write(got, "arm64")
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(back, key)
	if !reflect.DeepEqual(back, want) {
		t.Errorf("Parse(Write):\n%s", diffEntries(back, want))
	}
}
