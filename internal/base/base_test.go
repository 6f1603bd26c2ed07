package base

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

const (
	glibcLoader = "/lib64/ld-linux-x86-64.so.2"
	libcData    = "\x00GNU C Library (Debian GLIBC 2.36-9+deb12u4) stable release version 2.36.\n\x00"
	muslLoader  = "musl libc (x86_64)\nVersion %s\nDynamic Program Loader\n\x00/proc/self/fd/\x001.2.4\x00Unsupported\x00"
	passwd      = "root:x:0:0:root:/root:/bin/bash\n"
	group       = "root:x:0:\n"
	osRelease   = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nVERSION_ID=\"12\"\nID=debian\nVERSION_CODENAME=bookworm\n"
	dpkgDB      = `Package: libc6
Status: install ok installed
Architecture: amd64
Version: 2.36-9+deb12u4
Description: GNU C Library
 multi-line description
 .

Package: python3.11-minimal
Status: install ok installed
Architecture: amd64
Version: 3.11.2-6+deb12u6

Package: libc6
Status: install ok installed
Architecture: i386
Version: 2.31-13
`
)

// debianish is a merged-/usr bookworm-like tree; the dpkg database says
// 3.11.2 and the binary's literal says 3.11.9, so a test can tell which
// source was used.
func debianish() map[string]ent {
	return map[string]ent{
		"bin":                            symlink("usr/bin"),
		"lib":                            symlink("usr/lib"),
		"lib64":                          symlink("usr/lib64"),
		"usr/lib64/ld-linux-x86-64.so.2": symlink("../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"),
		"usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2":     exe(fakeELF(elf.EM_X86_64, elf.ET_DYN, "", "")),
		"usr/lib/x86_64-linux-gnu/libc.so.6":                exe(fakeELF(elf.EM_X86_64, elf.ET_DYN, glibcLoader, libcData)),
		"usr/bin/python3.11":                                exe(fakeELF(elf.EM_X86_64, elf.ET_DYN, glibcLoader, "\x00c_debug\x003.11.9\x00strict\x00")),
		"usr/bin/python3":                                   symlink("python3.11"),
		"usr/lib/python3.11/os.py":                          file("# os\n"),
		"etc/passwd":                                        file(passwd),
		"etc/group":                                         file(group),
		"etc/os-release":                                    symlink("../usr/lib/os-release"),
		"usr/lib/os-release":                                file(osRelease),
		"var/lib/dpkg/status":                               file(dpkgDB),
		"usr/share/doc/python3.11/copyright":                file("x"),
		"usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0.txt": file("not a library"),
	}
}

func without(m map[string]ent, keys ...string) map[string]ent {
	out := map[string]ent{}
	for k, v := range m {
		out[k] = v
	}
	for _, k := range keys {
		delete(out, k)
	}
	return out
}

func with(m map[string]ent, add map[string]ent) map[string]ent {
	out := without(m)
	for k, v := range add {
		out[k] = v
	}
	return out
}

func TestInspectDebian(t *testing.T) {
	want := Info{
		Arch:          "amd64",
		Interpreter:   "/usr/bin/python3.11",
		PythonVersion: "3.11.2",
		PythonMinor:   "3.11",
		StdlibDir:     "/usr/lib/python3.11",
		Libc:          Libc{Kind: "glibc", Version: "2.36"},
		Passwd:        []byte(passwd),
		Group:         []byte(group),
		DpkgStatus:    []byte(dpkgDB),
		OSRelease: map[string]string{
			"PRETTY_NAME": "Debian GNU/Linux 12 (bookworm)", "VERSION_ID": "12",
			"ID": "debian", "VERSION_CODENAME": "bookworm",
		},
	}
	got, err := Inspect(image(t, nil, tarOf(debianish())))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*got, want) {
		t.Errorf("got  %+v\nwant %+v", *got, want)
	}
}

func TestVersionSources(t *testing.T) {
	for _, tc := range []struct {
		name        string
		env         []string
		tree        map[string]ent
		python, gnu string
	}{
		{"dpkg", nil, debianish(), "3.11.2", "2.36"},
		{"config env wins", []string{"PATH=/usr/bin", "PYTHON_VERSION=3.11.4"}, debianish(), "3.11.4", "2.36"},
		{"env of another minor is ignored", []string{"PYTHON_VERSION=3.12.1"}, debianish(), "3.11.2", "2.36"},
		{"binary literal without dpkg", nil, without(debianish(), "var/lib/dpkg/status"), "3.11.9", "2.36"},
		{"libc string without dpkg", nil, with(without(debianish(), "var/lib/dpkg/status"), map[string]ent{
			"usr/lib/x86_64-linux-gnu/libc.so.6": exe(fakeELF(elf.EM_X86_64, elf.ET_DYN, glibcLoader, "GNU C Library (GNU libc) stable release version 2.41.\x00")),
		}), "3.11.9", "2.41"},
		{"older glibc: libc.so.6 -> libc-2.31.so", nil, with(without(debianish(), "var/lib/dpkg/status"), map[string]ent{
			"usr/lib/x86_64-linux-gnu/libc.so.6":    symlink("libc-2.31.so"),
			"usr/lib/x86_64-linux-gnu/libc-2.31.so": exe(fakeELF(elf.EM_X86_64, elf.ET_DYN, glibcLoader, "GNU C Library (Debian GLIBC 2.31-13+deb11u5) stable release version 2.31.\x00")),
		}), "3.11.9", "2.31"},
		{"distroless status.d", nil, with(without(debianish(), "var/lib/dpkg/status"), map[string]ent{
			"var/lib/dpkg/status.d/libc6":                 file("Package: libc6\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2.36-9+deb12u7\n"),
			"var/lib/dpkg/status.d/libc6.md5sums":         file("garbage that is not a stanza\n"),
			"var/lib/dpkg/status.d/libpython3.11-minimal": file("Package: libpython3.11-minimal\nStatus: install ok installed\nArchitecture: amd64\nVersion: 3.11.2-6+deb12u6\n"),
		}), "3.11.2", "2.36"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Inspect(image(t, tc.env, tarOf(tc.tree)))
			if err != nil {
				t.Fatal(err)
			}
			if got.PythonVersion != tc.python || got.Libc.Version != tc.gnu {
				t.Errorf("python %s glibc %s, want %s and %s", got.PythonVersion, got.Libc.Version, tc.python, tc.gnu)
			}
		})
	}
}

// An official-image layout: Python built into /usr/local, linked against
// libpython, with the distribution's own python3 still in /usr/bin.
func TestInspectUsrLocal(t *testing.T) {
	tree := with(debianish(), map[string]ent{
		"usr/local/bin/python3.12":           exe(fakeELF(elf.EM_X86_64, elf.ET_DYN, glibcLoader, "")),
		"usr/local/bin/python3":              symlink("python3.12"),
		"usr/local/bin/python":               symlink("python3"),
		"usr/local/lib/libpython3.12.so.1.0": file("\x00\x003.12.7\x00"),
		"usr/local/lib/libpython3.12.so":     symlink("libpython3.12.so.1.0"),
		"usr/local/lib/python3.12/os.py":     file(""),
	})
	got, err := Inspect(image(t, nil, tarOf(tree)))
	if err != nil {
		t.Fatal(err)
	}
	if got.Interpreter != "/usr/local/bin/python3.12" || got.PythonVersion != "3.12.7" ||
		got.PythonMinor != "3.12" || got.StdlibDir != "/usr/local/lib/python3.12" {
		t.Errorf("got %+v", got)
	}
}

func TestChoosesMinor(t *testing.T) {
	py := func(lit string) ent { return exe(fakeELF(elf.EM_X86_64, elf.ET_DYN, glibcLoader, "\x00"+lit+"\x00")) }
	base := with(without(debianish(), "usr/bin/python3", "var/lib/dpkg/status"), map[string]ent{
		"usr/bin/python3.9":        py("3.9.18"),
		"usr/bin/python3.13":       py("3.13.1"),
		"usr/lib/python3.9/os.py":  file(""),
		"usr/lib/python3.13/os.py": file(""),
	})
	for _, tc := range []struct {
		name string
		link string
		want string
	}{
		{"highest minor, numerically", "", "/usr/bin/python3.13"},
		{"python3 decides", "python3.9", "/usr/bin/python3.9"},
		{"python3 through a chain", "/etc/alternatives/python3", "/usr/bin/python3.11"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tree := base
			if tc.link != "" {
				tree = with(base, map[string]ent{
					"usr/bin/python3":          symlink(tc.link),
					"etc/alternatives/python3": symlink("../../usr/bin/python3.11"),
				})
			}
			got, err := Inspect(image(t, nil, tarOf(tree)))
			if err != nil {
				t.Fatal(err)
			}
			if got.Interpreter != tc.want {
				t.Errorf("interpreter %s, want %s", got.Interpreter, tc.want)
			}
		})
	}
}

func TestWhiteouts(t *testing.T) {
	lower := with(debianish(), map[string]ent{
		"usr/local/bin/python3.12":       exe(fakeELF(elf.EM_X86_64, elf.ET_DYN, glibcLoader, "\x003.12.7\x00")),
		"usr/local/lib/python3.12/os.py": file(""),
	})
	t.Run("deleted file", func(t *testing.T) {
		upper := map[string]ent{"usr/local/bin/.wh.python3.12": file("")}
		got, err := Inspect(image(t, nil, tarOf(lower), tarOf(upper)))
		if err != nil {
			t.Fatal(err)
		}
		if got.Interpreter != "/usr/bin/python3.11" {
			t.Errorf("interpreter %s: the whited-out python3.12 was found", got.Interpreter)
		}
	})
	t.Run("opaque directory", func(t *testing.T) {
		upper := map[string]ent{"usr/local/bin/.wh..wh..opq": file(""), "usr/local/bin/tool": file("")}
		got, err := Inspect(image(t, nil, tarOf(lower), tarOf(upper)))
		if err != nil {
			t.Fatal(err)
		}
		if got.Interpreter != "/usr/bin/python3.11" {
			t.Errorf("interpreter %s: python3.12 under an opaque dir was found", got.Interpreter)
		}
	})
	t.Run("replaced in upper layer", func(t *testing.T) {
		upper := map[string]ent{"usr/local/bin/python3.12": file("#!/bin/sh\n")}
		got, err := Inspect(image(t, nil, tarOf(lower), tarOf(upper)))
		if err != nil {
			t.Fatal(err)
		}
		if got.Interpreter != "/usr/bin/python3.11" {
			t.Errorf("interpreter %s: the upper layer's non-ELF file was ignored", got.Interpreter)
		}
	})
	t.Run("all deleted", func(t *testing.T) {
		upper := map[string]ent{
			"usr/local/bin/.wh.python3.12": file(""),
			"usr/bin/.wh.python3.11":       file(""),
		}
		img := image(t, nil, tarOf(lower), tarOf(upper))
		_, err := Inspect(img)
		if err == nil {
			t.Fatal("no error")
		}
		dig, _ := img.Digest()
		for _, s := range []string{dig.String(), "/usr/local/bin and /usr/bin", "/usr/bin/python3 -> python3.11,"} {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("error %q does not mention %q", err, s)
			}
		}
		if strings.Contains(err.Error(), "python3.12") {
			t.Errorf("error %q mentions the deleted python3.12", err)
		}
	})
}

// Symlinks are resolved inside the image: relative and absolute targets,
// links to directories, and ".." that cannot climb out of the root.
func TestSymlinkChains(t *testing.T) {
	tree := with(without(debianish(), "usr/bin/python3.11", "usr/lib/python3.11/os.py"), map[string]ent{
		"usr/bin/python3.11":                 symlink("../../opt/py/bin/interp"),
		"opt/py":                             symlink("/opt/py-3.11.5"),
		"opt/py-3.11.5/bin/interp":           hardlink("opt/py-3.11.5/bin/interp-real"),
		"opt/py-3.11.5/bin/interp-real":      exe(fakeELF(elf.EM_X86_64, elf.ET_EXEC, glibcLoader, "\x003.11.5\x00")),
		"opt/py-3.11.5/lib/python3.11/os.py": file(""),
		"var/lib/dpkg/status":                file(""),
	})
	img := image(t, nil, tarOf(tree))
	got, err := Inspect(img)
	if err != nil {
		t.Fatal(err)
	}
	if got.Interpreter != "/opt/py-3.11.5/bin/interp" || got.StdlibDir != "/opt/py-3.11.5/lib/python3.11" || got.PythonVersion != "3.11.5" {
		t.Errorf("got %+v", got)
	}

	// The interpreter's name was not one the first pass keeps: one more pass reads it.
	r, err := readRootfs(img, keep)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.read("/usr/bin/python3.11"); err != nil {
		t.Fatal(err)
	}
	if r.scans != 2 {
		t.Errorf("%d passes over the image, want 2", r.scans)
	}
	if _, err := r.read("/etc/passwd"); err != nil || r.scans != 2 {
		t.Errorf("reading a kept file: err %v, %d passes", err, r.scans)
	}
}

func TestResolve(t *testing.T) {
	r, err := readRootfs(image(t, nil, tarOf(map[string]ent{
		"a/b/c":     file("c"),
		"a/up":      symlink("/../../a"), // absolute, so the layer keeps it; ".." stops at the root
		"a/abs":     symlink("/a/b"),
		"loop1":     symlink("loop2"),
		"loop2":     symlink("/loop1"),
		"a/dotdot":  symlink("b/../b/./c"),
		"a/through": symlink("abs/../b/c"),
		"a/file/x":  file(""), // implies a/file is a directory
		"a/c-file":  symlink("b/c"),
	})), func(string) bool { return true })
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ in, want, err string }{
		{"/a/b/c", "/a/b/c", ""},
		{"/a/up/b/c", "/a/b/c", ""},
		{"/../a/./b//c", "/a/b/c", ""},
		{"/a/abs/c", "/a/b/c", ""},
		{"/a/dotdot", "/a/b/c", ""},
		{"/a/through", "/a/b/c", ""},
		{"/a/file/x", "/a/file/x", ""},
		{"/loop1", "", "too many levels"},
		{"/a/missing", "", "no such file"},
		{"/a/c-file/x", "", "not a directory"},
	} {
		got, err := r.resolve(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("resolve(%s) = %q, %v; want error %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("resolve(%s) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestMusl(t *testing.T) {
	for _, tc := range []struct {
		name    string
		machine elf.Machine
		arch    string
		loader  string
		apk     string
		want    string
	}{
		{"loader literal", elf.EM_X86_64, "amd64", "x86_64", "", "1.2.4"},
		{"apk database", elf.EM_AARCH64, "arm64", "aarch64", "C:Q1abc=\nP:musl\nV:1.2.5-r1\nA:aarch64\n\nP:busybox\nV:1.36.1-r2\n", "1.2.5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ld := "/lib/ld-musl-" + tc.loader + ".so.1"
			tree := map[string]ent{
				"lib/ld-musl-" + tc.loader + ".so.1":   exe([]byte(strings.Replace(muslLoader, "x86_64", tc.loader, 1))),
				"lib/libc.musl-" + tc.loader + ".so.1": symlink("ld-musl-" + tc.loader + ".so.1"),
				"usr/local/bin/python3.12":             exe(fakeELF(tc.machine, elf.ET_DYN, ld, "")),
				"usr/local/lib/libpython3.12.so.1.0":   file("\x003.12.7\x00"),
				"usr/local/lib/python3.12/os.py":       file(""),
				"etc/os-release":                       file("ID=alpine\nVERSION_ID=3.20.3\n"),
			}
			if tc.apk != "" {
				tree["lib/apk/db/installed"] = file(tc.apk)
			}
			got, err := Inspect(image(t, nil, tarOf(tree)))
			if err != nil {
				t.Fatal(err)
			}
			if got.Libc != (Libc{"musl", tc.want}) || got.Arch != tc.arch || got.Passwd != nil || got.OSRelease["ID"] != "alpine" {
				t.Errorf("got %+v", got)
			}
		})
	}
}

func TestRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		tree map[string]ent
		want string
	}{
		{"not executable", with(debianish(), map[string]ent{"usr/bin/python3.11": file(string(fakeELF(elf.EM_X86_64, elf.ET_DYN, glibcLoader, "")))}), "/usr/bin/python3.11 (not executable)"},
		{"script", with(debianish(), map[string]ent{"usr/bin/python3.11": exe([]byte("#!/bin/sh\nexec python\n"))}), "not an ELF file"},
		{"relocatable object", with(debianish(), map[string]ent{"usr/bin/python3.11": exe(fakeELF(elf.EM_X86_64, elf.ET_REL, "", ""))}), "not an executable"},
		{"dangling", with(debianish(), map[string]ent{"usr/bin/python3.11": symlink("/nowhere")}), "no such file"},
		{"fifo", with(debianish(), map[string]ent{"usr/bin/python3.11": ent{isFifo: true, mode: 0o755}}), "not a regular file"},
		{"static", with(debianish(), map[string]ent{"usr/bin/python3.11": exe(fakeELF(elf.EM_X86_64, elf.ET_EXEC, "", ""))}), "statically linked"},
		{"unknown loader", with(debianish(), map[string]ent{"usr/bin/python3.11": exe(fakeELF(elf.EM_X86_64, elf.ET_DYN, "/lib/ld-bionic.so", ""))}), "unknown dynamic loader /lib/ld-bionic.so"},
		{"no stdlib", without(debianish(), "usr/lib/python3.11/os.py"), "os.py not found in /usr/lib/python3.11"},
		{"no version anywhere", with(without(debianish(), "var/lib/dpkg/status"), map[string]ent{"usr/bin/python3.11": exe(fakeELF(elf.EM_X86_64, elf.ET_DYN, glibcLoader, ""))}), "full version not found"},
		{"two version literals", with(without(debianish(), "var/lib/dpkg/status"), map[string]ent{"usr/bin/python3.11": exe(fakeELF(elf.EM_X86_64, elf.ET_DYN, glibcLoader, "\x003.11.1\x00\x003.11.2\x00"))}), "ambiguous Python version, found 3.11.1, 3.11.2"},
		{"no glibc version", with(without(debianish(), "var/lib/dpkg/status"), map[string]ent{"usr/lib/x86_64-linux-gnu/libc.so.6": exe(fakeELF(elf.EM_X86_64, elf.ET_DYN, "", ""))}), "glibc version not found"},
		{"bad dpkg status", with(debianish(), map[string]ent{"var/lib/dpkg/status": file("Package: x\nno colon here\n")}), "/var/lib/dpkg/status: line 2"},
		{"empty image", map[string]ent{"etc/hostname": file("x")}, "the image has no python-like files"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img := image(t, nil, tarOf(tc.tree))
			_, err := Inspect(img)
			if err == nil {
				t.Fatal("no error")
			}
			dig, _ := img.Digest()
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), dig.String()) {
				t.Errorf("error %q does not name %q and the digest", err, tc.want)
			}
		})
	}
}

// A real executable and C library from this machine, as an image: the ELF
// parsing and version scanning meet real toolchain output.
func TestHostBinaries(t *testing.T) {
	exePath := "/usr/bin/true"
	data, err := os.ReadFile(exePath)
	if err != nil {
		t.Skipf("no %s here: %v", exePath, err)
	}
	e, err := parseELF(data)
	if err != nil || e.interp == "" || !strings.Contains(e.interp, "ld-linux") {
		t.Skipf("%s is not a dynamically linked glibc executable (%v)", exePath, err)
	}
	// The host's libc.so.6 is beside its loader once symlinks are resolved.
	ld, err := filepath.EvalSymlinks(e.interp)
	if err != nil {
		t.Fatal(err)
	}
	libcPath := filepath.Join(filepath.Dir(ld), "libc.so.6")
	libcData, err := os.ReadFile(libcPath)
	if err != nil {
		t.Fatal(err)
	}
	ldData, err := os.ReadFile(ld)
	if err != nil {
		t.Fatal(err)
	}
	tree := map[string]ent{
		strings.TrimPrefix(e.interp, "/"): symlink(ld),
		strings.TrimPrefix(ld, "/"):       exe(ldData),
		strings.TrimPrefix(libcPath, "/"): exe(libcData),
		"usr/bin/python3.11":              exe(append(data, "\x003.11.2\x00"...)),
		"usr/lib/python3.11/os.py":        file(""),
	}
	got, err := Inspect(image(t, nil, tarOf(tree)))
	if err != nil {
		t.Fatal(err)
	}
	if got.Arch != runtime.GOARCH || got.Libc.Kind != "glibc" || !strings.HasPrefix(got.Libc.Version, "2.") {
		t.Errorf("got %+v", got)
	}
	if out, err := exec.Command("ldd", "--version").Output(); err == nil {
		if first := strings.SplitN(string(out), "\n", 2)[0]; !strings.HasSuffix(first, " "+got.Libc.Version) {
			t.Errorf("glibc %s, but ldd says %q", got.Libc.Version, first)
		}
	}
}

// A binary linked by the real toolchain with musl's loader as PT_INTERP.
func TestGccMuslInterp(t *testing.T) {
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skip("no gcc")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "main.c")
	out := filepath.Join(dir, "python3.12")
	os.WriteFile(src, []byte("int main(void){return 0;}\n"), 0o644)
	if b, err := exec.Command(gcc, "-o", out, "-Wl,--dynamic-linker=/lib/ld-musl-x86_64.so.1", src).CombinedOutput(); err != nil {
		t.Skipf("gcc: %v: %s", err, b)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	tree := map[string]ent{
		"usr/local/bin/python3.12":       exe(append(data, "\x003.12.7\x00"...)),
		"usr/local/lib/python3.12/os.py": file(""),
		"lib/ld-musl-x86_64.so.1":        exe([]byte(muslLoader)),
	}
	got, err := Inspect(image(t, nil, tarOf(tree)))
	if err != nil {
		t.Fatal(err)
	}
	if got.Libc != (Libc{"musl", "1.2.4"}) || got.Arch != runtime.GOARCH {
		t.Errorf("got %+v", got)
	}
}
