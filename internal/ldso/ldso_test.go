package ldso

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

// fixture holds programs built on the host with gcc.
type fixture struct {
	triplet string
	libc    []byte // host libc.so.6
	libfoo  []byte
	app     []byte // needs libfoo.so, no search path
	rpath   []byte // DT_RPATH $ORIGIN/../lib
	runpath []byte // DT_RUNPATH $ORIGIN/../lib
}

func build(t *testing.T) *fixture {
	t.Helper()
	triplet := map[string]string{"amd64": "x86_64-linux-gnu", "arm64": "aarch64-linux-gnu"}[runtime.GOARCH]
	if triplet == "" || runtime.GOOS != "linux" {
		t.Skip("needs linux on amd64 or arm64")
	}
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("needs gcc")
	}
	dir := t.TempDir()
	write(t, filepath.Join(dir, "foo.c"), "int foo(void) { return 42; }\n")
	write(t, filepath.Join(dir, "main.c"), "int foo(void);\nint main(void) { return foo() != 42; }\n")
	gcc := func(args ...string) {
		t.Helper()
		cmd := exec.Command("gcc", args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("gcc %v: %v\n%s", args, err, out)
		}
	}
	gcc("-shared", "-fPIC", "-o", "libfoo.so", "foo.c")
	gcc("-o", "app", "main.c", "-L.", "-lfoo")
	gcc("-o", "rpath", "main.c", "-L.", "-lfoo", "-Wl,--disable-new-dtags", "-Wl,-rpath,$ORIGIN/../lib")
	gcc("-o", "runpath", "main.c", "-L.", "-lfoo", "-Wl,--enable-new-dtags", "-Wl,-rpath,$ORIGIN/../lib")
	libc, err := os.ReadFile(filepath.Join("/lib", triplet, "libc.so.6"))
	if err != nil {
		t.Skipf("host libc: %v", err)
	}
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	f := &fixture{triplet: triplet, libc: libc, libfoo: read("libfoo.so"), app: read("app"), rpath: read("rpath"), runpath: read("runpath")}
	// Guard against a toolchain that ignores the dtags flags.
	for _, c := range []struct {
		b   []byte
		tag elf.DynTag
	}{{f.rpath, elf.DT_RPATH}, {f.runpath, elf.DT_RUNPATH}} {
		ef, err := elf.NewFile(strings.NewReader(string(c.b)))
		if err != nil {
			t.Fatal(err)
		}
		if v, _ := ef.DynString(c.tag); !reflect.DeepEqual(v, []string{"$ORIGIN/../lib"}) {
			t.Fatalf("%v = %q, want $ORIGIN/../lib", c.tag, v)
		}
	}
	return f
}

func write(t *testing.T, name, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(data), 0o755); err != nil {
		t.Fatal(err)
	}
}

func symlink(t *testing.T, target, name string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, name); err != nil {
		t.Fatal(err)
	}
}

// check runs Check and returns "binary:library" for each Missing.
func check(t *testing.T, root string, paths ...string) []string {
	t.Helper()
	ms, err := Check(DirFS(root), paths)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range ms {
		out = append(out, m.Binary+":"+m.Library)
	}
	return out
}

func wantMissing(t *testing.T, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("missing = %q, want %q", got, want)
	}
}

func TestDefaultDirs(t *testing.T) {
	f := build(t)
	root := t.TempDir()
	write(t, filepath.Join(root, "usr/bin/app"), string(f.app))
	write(t, filepath.Join(root, "lib", f.triplet, "libc.so.6"), string(f.libc))
	lib := filepath.Join(root, "usr/lib", f.triplet, "libfoo.so")
	write(t, lib, string(f.libfoo))
	wantMissing(t, check(t, root, "usr/bin/app"))

	if err := os.Remove(lib); err != nil {
		t.Fatal(err)
	}
	ms, err := Check(DirFS(root), []string{"usr/bin/app"})
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 || ms[0].Binary != "usr/bin/app" || ms[0].Library != "libfoo.so" {
		t.Fatalf("got %+v, want usr/bin/app missing libfoo.so", ms)
	}
	if !slices.Contains(ms[0].Searched, "usr/lib/"+f.triplet) {
		t.Errorf("searched %q, want usr/lib/%s among them", ms[0].Searched, f.triplet)
	}
}

func TestOrigin(t *testing.T) {
	f := build(t)
	root := t.TempDir()
	write(t, filepath.Join(root, "lib", f.triplet, "libc.so.6"), string(f.libc))
	write(t, filepath.Join(root, "opt/app/lib/libfoo.so"), string(f.libfoo))
	write(t, filepath.Join(root, "opt/app/bin/app"), string(f.app))
	write(t, filepath.Join(root, "opt/app/bin/rpath"), string(f.rpath))
	write(t, filepath.Join(root, "opt/app/bin/runpath"), string(f.runpath))
	wantMissing(t, check(t, root, "opt/app/bin/app", "opt/app/bin/rpath", "opt/app/bin/runpath"),
		"opt/app/bin/app:libfoo.so")

	// $ORIGIN is the binary's real directory, not the link's.
	symlink(t, "/opt/app/bin/rpath", filepath.Join(root, "usr/bin/rpath"))
	wantMissing(t, check(t, root, "usr/bin/rpath"))

	if err := os.Remove(filepath.Join(root, "opt/app/lib/libfoo.so")); err != nil {
		t.Fatal(err)
	}
	ms, err := Check(DirFS(root), []string{"opt/app/bin/runpath"})
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 || ms[0].Searched[0] != "opt/app/lib" {
		t.Fatalf("got %+v, want libfoo.so missing after searching opt/app/lib first", ms)
	}
}

func TestLdSoConfInclude(t *testing.T) {
	f := build(t)
	root := t.TempDir()
	write(t, filepath.Join(root, "usr/bin/app"), string(f.app))
	write(t, filepath.Join(root, "lib", f.triplet, "libc.so.6"), string(f.libc))
	write(t, filepath.Join(root, "opt/custom/lib/libfoo.so"), string(f.libfoo))
	write(t, filepath.Join(root, "etc/ld.so.conf"), "# comment\ninclude /etc/ld.so.conf.d/*.conf\n")
	wantMissing(t, check(t, root, "usr/bin/app"), "usr/bin/app:libfoo.so")

	write(t, filepath.Join(root, "etc/ld.so.conf.d/custom.conf"), "/opt/custom/lib # ours\n")
	wantMissing(t, check(t, root, "usr/bin/app"))

	// A relative pattern is relative to the including file, and an include
	// cycle terminates.
	write(t, filepath.Join(root, "etc/ld.so.conf"), "include ld.so.conf.d/*.conf\n")
	write(t, filepath.Join(root, "etc/ld.so.conf.d/loop.conf"), "include /etc/ld.so.conf\n")
	wantMissing(t, check(t, root, "usr/bin/app"))
}

func TestSymlinks(t *testing.T) {
	f := build(t)
	root := t.TempDir()
	// Debian's merged /usr: lib is a relative link to usr/lib.
	symlink(t, "usr/lib", filepath.Join(root, "lib"))
	write(t, filepath.Join(root, "usr/lib", f.triplet, "libc.so.6"), string(f.libc))
	write(t, filepath.Join(root, "usr/bin/app"), string(f.app))
	write(t, filepath.Join(root, "opt/real/libfoo.so.1.0"), string(f.libfoo))
	symlink(t, "libfoo.so.1", filepath.Join(root, "usr/lib", f.triplet, "libfoo.so"))
	symlink(t, "../../../opt/real/libfoo.so.1.0", filepath.Join(root, "usr/lib", f.triplet, "libfoo.so.1"))
	wantMissing(t, check(t, root, "usr/bin/app"))
}

func TestAbsoluteSymlinkStaysInRoot(t *testing.T) {
	f := build(t)
	root := t.TempDir()
	write(t, filepath.Join(root, "usr/bin/app"), string(f.app))
	write(t, filepath.Join(root, "usr/lib", f.triplet, "libfoo.so"), string(f.libfoo))
	// Both targets exist on the host but not in the root.
	libc := filepath.Join(root, "usr/lib", f.triplet, "libc.so.6")
	symlink(t, "/../../lib/"+f.triplet+"/libc.so.6", libc)
	symlink(t, "/usr/lib/"+f.triplet+"/libc.so.6", filepath.Join(root, "lib"))
	wantMissing(t, check(t, root, "usr/bin/app"), "usr/bin/app:libc.so.6")

	if err := os.Remove(filepath.Join(root, "lib")); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(root, "lib", f.triplet, "libc.so.6"), string(f.libc))
	wantMissing(t, check(t, root, "usr/bin/app"))
}

func TestIncompatibleLibraryPassedOver(t *testing.T) {
	f := build(t)
	root := t.TempDir()
	write(t, filepath.Join(root, "usr/bin/app"), string(f.app))
	write(t, filepath.Join(root, "lib", f.triplet, "libc.so.6"), string(f.libc))
	// A 32-bit copy comes first in the search order and must be skipped.
	lib32 := []byte(string(f.libfoo))
	lib32[elf.EI_CLASS] = byte(elf.ELFCLASS32)
	write(t, filepath.Join(root, "lib", f.triplet, "libfoo.so"), string(lib32))
	wantMissing(t, check(t, root, "usr/bin/app"), "usr/bin/app:libfoo.so")

	write(t, filepath.Join(root, "usr/lib/libfoo.so"), string(f.libfoo))
	wantMissing(t, check(t, root, "usr/bin/app"))

	// Another machine does not satisfy it either.
	other := []byte(string(f.libfoo))
	other[18], other[19] = byte(elf.EM_RISCV), 0
	write(t, filepath.Join(root, "usr/lib/libfoo.so"), string(other))
	wantMissing(t, check(t, root, "usr/bin/app"), "usr/bin/app:libfoo.so")
}

func TestSymlinkLoop(t *testing.T) {
	f := build(t)
	root := t.TempDir()
	write(t, filepath.Join(root, "usr/bin/app"), string(f.app))
	write(t, filepath.Join(root, "lib", f.triplet, "libc.so.6"), string(f.libc))
	symlink(t, "libfoo.so", filepath.Join(root, "usr/lib/libfoo.so"))
	wantMissing(t, check(t, root, "usr/bin/app"), "usr/bin/app:libfoo.so")
}

func TestFindELFAndSkip(t *testing.T) {
	f := build(t)
	root := t.TempDir()
	write(t, filepath.Join(root, "usr/bin/app"), string(f.app))
	write(t, filepath.Join(root, "usr/lib/libfoo.so"), string(f.libfoo))
	write(t, filepath.Join(root, "usr/bin/script"), "#!/bin/sh\n")
	write(t, filepath.Join(root, "empty"), "")
	symlink(t, "app", filepath.Join(root, "usr/bin/link"))
	got, err := FindELF(DirFS(root))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"usr/bin/app", "usr/lib/libfoo.so"}; !slices.Equal(got, want) {
		t.Errorf("FindELF = %q, want %q", got, want)
	}
	// Non-ELF files and directories are skipped; a truncated ELF is an error.
	wantMissing(t, check(t, root, "usr/bin/script", "empty", "usr"))
	write(t, filepath.Join(root, "bad"), "\x7fELF\x02\x01")
	if _, err := Check(DirFS(root), []string{"bad"}); err == nil || !strings.Contains(err.Error(), "bad") {
		t.Errorf("Check(truncated ELF) error = %v, want one naming bad", err)
	}
}

// mapFS adds symbolic links to fstest.MapFS.
type mapFS struct{ fstest.MapFS }

func (m mapFS) Readlink(name string) (string, error) { return m.ReadLink(name) }

func link(target string) *fstest.MapFile {
	return &fstest.MapFile{Data: []byte(target), Mode: 0o777 | os.ModeSymlink}
}

func TestResolve(t *testing.T) {
	root := mapFS{fstest.MapFS{
		"usr/lib/x/libc.so": {Data: []byte("c")},
		"lib":               link("usr/lib"),
		"abs":               link("/../../usr/lib/x"),
		"a":                 link("b"),
		"b":                 link("a"),
	}}
	for in, want := range map[string]string{
		"lib/x/libc.so":      "usr/lib/x/libc.so",
		"abs/libc.so":        "usr/lib/x/libc.so",
		"lib/../lib/x":       "usr/lib/x",
		"../../lib":          "usr/lib",
		"lib/x/../../../etc": "etc",
		"":                   ".",
	} {
		got, err := Resolve(root, in)
		if err != nil || got != want {
			t.Errorf("Resolve(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := Resolve(root, "a/x"); err == nil {
		t.Error("Resolve(loop) succeeded")
	}
}

func TestExpand(t *testing.T) {
	x64 := ident{class: elf.ELFCLASS64, data: elf.ELFDATA2LSB, machine: elf.EM_X86_64}
	for _, c := range []struct {
		in   string
		id   ident
		want []string
	}{
		{"$ORIGIN/../lib", x64, []string{"opt/app/lib"}},
		{"${ORIGIN}/lib", x64, []string{"opt/app/bin/lib"}},
		{"$ORIGINAL/x", x64, []string{"$ORIGINAL/x"}},
		{"/usr/$LIB/foo", x64, []string{"usr/lib/x86_64-linux-gnu/foo", "usr/lib64/foo"}},
		{"/opt/${PLATFORM}", x64, []string{"opt/x86_64"}},
		{"/opt/$PLATFORM", ident{class: elf.ELFCLASS64, machine: elf.EM_RISCV}, nil},
		{"rel/dir", x64, []string{"rel/dir"}},
		{"/../..", x64, []string{"."}},
	} {
		if got := expand(c.in, c.id, "opt/app/bin"); !slices.Equal(got, c.want) {
			t.Errorf("expand(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestSearchDirsOrder(t *testing.T) {
	a64 := ident{class: elf.ELFCLASS64, data: elf.ELFDATA2LSB, machine: elf.EM_AARCH64}
	conf := []string{"opt/conf"}
	defaults := []string{"lib/aarch64-linux-gnu", "usr/lib/aarch64-linux-gnu", "lib64", "usr/lib64", "lib", "usr/lib"}
	for _, c := range []struct {
		name           string
		rpath, runpath []string
		nodeflib       bool
		want           []string
	}{
		{"rpath", []string{"/r1:/r2"}, nil, false, append([]string{"r1", "r2", "opt/conf"}, defaults...)},
		{"runpath wins", []string{"/r1"}, []string{"/u1::/lib"}, false,
			[]string{"u1", "lib", "opt/conf", "lib/aarch64-linux-gnu", "usr/lib/aarch64-linux-gnu", "lib64", "usr/lib64", "usr/lib"}},
		{"nodeflib", nil, []string{"/u1"}, true, []string{"u1"}},
	} {
		if got := searchDirs(a64, "bin", c.rpath, c.runpath, c.nodeflib, conf); !slices.Equal(got, c.want) {
			t.Errorf("%s: searchDirs = %q, want %q", c.name, got, c.want)
		}
	}
}

func FuzzCheck(f *testing.F) {
	f.Add([]byte("\x7fELF"))
	f.Add([]byte("\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x03\x00\x3e\x00"))
	if b, err := os.ReadFile("/usr/bin/true"); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		root := mapFS{fstest.MapFS{
			"bin/x":          {Data: data, Mode: 0o755},
			"lib/libc.so.6":  {Data: data},
			"etc/ld.so.conf": {Data: []byte("/lib\n")},
		}}
		// Errors are fine; panics and hangs are not.
		_, _ = Check(root, []string{"bin/x"})
	})
}
