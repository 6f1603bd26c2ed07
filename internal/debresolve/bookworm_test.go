package debresolve

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/kiln-build/kiln/internal/deb"
)

// The real bookworm amd64 indexes apt keeps on a Debian host (the docker
// style keeps them lz4-compressed, which go.mod has no reader for, so the
// lz4 command decompresses them). Tests using them skip where they are
// missing.
const aptLists = "/var/lib/apt/lists"

var bookwormSuites = []string{"bookworm", "bookworm-updates", "bookworm-security"}

var bookworm struct {
	once  sync.Once
	u     *memUniverse
	files []string
	skip  string
	err   error
}

func bookwormUniverse(t *testing.T) *memUniverse {
	t.Helper()
	if testing.Short() {
		t.Skip("reads the 50 MB bookworm index")
	}
	bookworm.once.Do(func() {
		var ps []*deb.Package
		for _, suite := range bookwormSuites {
			matches, _ := filepath.Glob(filepath.Join(aptLists, "*_dists_"+suite+"_main_binary-amd64_Packages*"))
			if len(matches) == 0 {
				if suite == "bookworm" {
					bookworm.skip = "no bookworm main amd64 Packages in " + aptLists
					return
				}
				continue
			}
			got, err := readIndex(matches[0])
			if err != nil {
				bookworm.err = err
				return
			}
			if got == nil {
				bookworm.skip = "no lz4 command to read " + matches[0]
				return
			}
			bookworm.files = append(bookworm.files, matches[0])
			ps = append(ps, got...)
		}
		bookworm.u = newUniverse(ps)
	})
	if bookworm.skip != "" {
		t.Skip(bookworm.skip)
	}
	if bookworm.err != nil {
		t.Fatal(bookworm.err)
	}
	return bookworm.u
}

// readIndex reads one Packages file, uncompressed or lz4; it returns nil,
// nil when an lz4 file cannot be decompressed here.
func readIndex(path string) ([]*deb.Package, error) {
	if !strings.HasSuffix(path, ".lz4") {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		ps, err := readPackages(f, false)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return ps, nil
	}
	if _, err := exec.LookPath("lz4"); err != nil {
		return nil, nil
	}
	cmd := exec.Command("lz4", "-dc", path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	ps, perr := readPackages(out, false)
	if perr != nil {
		_, _ = io.Copy(io.Discard, out)
	}
	if err := cmd.Wait(); err != nil {
		return nil, fmt.Errorf("lz4 -dc %s: %v: %s", path, err, stderr.String())
	}
	if perr != nil {
		return nil, fmt.Errorf("%s: %w", path, perr)
	}
	return ps, nil
}

// python311 is apt's choice for "apt-get install --no-install-recommends
// python3.11" into an empty system (debian-assembly.md §1).
var python311 = strings.Fields(`gcc-12-base libc6 libgcc-s1 libbz2-1.0 liblzma5 libmd0 libpcre2-8-0
	libselinux1 libzstd1 zlib1g libacl1 tar dpkg libssl3 libpython3.11-minimal libexpat1
	python3.11-minimal readline-common media-types libcom-err2 libcrypt1 libdb5.3 libffi8
	libkrb5support0 libk5crypto3 libkeyutils1 libkrb5-3 libgssapi-krb5-2 libtinfo6 libncursesw6
	libtirpc-common libtirpc3 libnsl2 libreadline8 libsqlite3-0 libuuid1 libpython3.11-stdlib python3.11`)

func TestBookwormPython(t *testing.T) {
	u := bookwormUniverse(t)
	opts := Options{Arch: "amd64"}
	got, err := Resolve(u, []string{"python3.11"}, nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	checkClosed(t, u, got, nil, opts)
	want := slices.Sorted(slices.Values(python311))
	if names := namesOf(got); !slices.Equal(names, want) {
		t.Errorf("python3.11 resolved to %d packages:\n%s\nwant %d:\n%s", len(names), names, len(want), want)
	}

	roots := []string{"python3.11", "ca-certificates", "tzdata", "base-files", "base-passwd", "libc-bin"}
	got, err = Resolve(u, roots, nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	checkClosed(t, u, got, nil, opts)
	names := namesOf(got)
	// §8: 47 packages; ca-certificates brings openssl and debconf, base-files mawk.
	for _, n := range slices.Concat(python311, roots, []string{"openssl", "debconf", "mawk"}) {
		if !slices.Contains(names, n) {
			t.Errorf("base set lacks %s", n)
		}
	}
	if len(names) != 47 {
		t.Errorf("base set has %d packages, want 47: %s", len(names), names)
	}

	// The runtime image trims what only maintainer scripts use.
	got, err = Resolve(u, roots, nil, Options{Arch: "amd64", Exclude: []string{"dpkg", "tar", "perl-base", "debconf"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"dpkg", "tar", "debconf"} {
		if slices.Contains(namesOf(got), n) {
			t.Errorf("excluded %s was selected", n)
		}
	}
	// dpkg took libmd0 and libzstd1 along, tar libacl1.
	if len(got) != 41 {
		t.Errorf("trimmed base set has %d packages, want 41: %s", len(got), namesOf(got))
	}
}

// TestBookwormMatchesApt compares Resolve with apt's own simulation, on the
// same index files, where apt is installed and reads only them.
func TestBookwormMatchesApt(t *testing.T) {
	u := bookwormUniverse(t)
	if _, err := exec.LookPath("apt-get"); err != nil {
		t.Skip("no apt-get")
	}
	all, _ := filepath.Glob(filepath.Join(aptLists, "*_Packages*"))
	if !slices.Equal(all, slices.Sorted(slices.Values(bookworm.files))) {
		t.Skipf("apt reads other indexes too: %v", all)
	}
	base := []string{"python3.11", "ca-certificates", "tzdata", "base-files", "base-passwd", "libc-bin"}
	service := slices.Concat(base, []string{"dash", "coreutils", "nginx-light", "curl", "libpq5", "supervisor"})
	for _, tc := range []struct {
		name              string
		roots, preinstall []string
		oldest            bool // preinstall the lowest version the indexes have
		want              int  // the count debian-assembly.md reports, 0 if none
	}{
		{name: "python", roots: []string{"python3.11"}, want: 38},
		{name: "base", roots: base, want: 47},
		{name: "service with usr-is-merged", roots: append(service, "usr-is-merged"), want: 91},
		{name: "service with usrmerge", roots: service, want: 100},
		// The list of issue 3, and two sets heavy in alternatives and
		// virtual packages (mail-transport-agent, java runtimes).
		{name: "issue 3", roots: strings.Fields("ca-certificates clang-format curl libjpeg62-turbo libpq5 nginx openssl passwd supervisor unzip zlib1g")},
		{name: "mailutils", roots: []string{"mailutils"}},
		{name: "java", roots: []string{"default-jre-headless"}},
		{name: "onto an installed base", roots: []string{"libpq5", "curl", "nginx-light"}, preinstall: base},
		{name: "upgrading an old base", roots: []string{"python3.11", "libssl3", "libpq5"}, preinstall: base, oldest: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var installed []Installed
			var status bytes.Buffer
			if tc.preinstall != nil {
				pre, err := Resolve(u, tc.preinstall, nil, Options{Arch: "amd64"})
				if err != nil {
					t.Fatal(err)
				}
				for _, p := range pre {
					if tc.oldest {
						vs := u.Packages(p.Name)
						p = vs[len(vs)-1]
					}
					installed = append(installed, Installed{Name: p.Name, Arch: p.Architecture, Version: p.Version, Provides: p.Provides})
					writeStatus(&status, p)
				}
			}
			want := aptSimulate(t, dir, status.Bytes(), tc.roots)
			if want == "" {
				t.Fatal("apt installs nothing")
			}
			opts := Options{Arch: "amd64"}
			got, err := Resolve(u, tc.roots, installed, opts)
			if err != nil {
				t.Fatal(err)
			}
			checkClosed(t, u, got, installed, opts)
			if g := pinsOf(got); g != want {
				t.Errorf("resolve:\n%s\napt:\n%s", g, want)
			}
			if tc.want != 0 && len(got) != tc.want {
				t.Errorf("%d packages, debian-assembly.md found %d", len(got), tc.want)
			}
		})
	}
}

// writeStatus writes p as an installed entry of a dpkg status file.
func writeStatus(w *bytes.Buffer, p *deb.Package) {
	fmt.Fprintf(w, "Package: %s\nStatus: install ok installed\n", p.Name)
	for _, f := range p.Paragraph.Fields {
		switch f.Name {
		case "Package", "Filename", "Size", "MD5sum", "SHA256", "Description-md5":
			continue
		}
		fmt.Fprintf(w, "%s: %s\n", f.Name, f.Value)
	}
	w.WriteString("\n")
}

// aptSimulate runs "apt-get -s install" against a scratch status and cache,
// never the host's, and returns what it would install as "name=version".
func aptSimulate(t *testing.T, dir string, status []byte, roots []string) string {
	t.Helper()
	statusFile := filepath.Join(dir, "status")
	if err := os.WriteFile(statusFile, status, 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{
		"-s", "-q",
		"-o", "Dir::State::status=" + statusFile,
		"-o", "Dir::Cache=" + filepath.Join(dir, "cache"),
		"-o", "Debug::NoLocking=1",
		"-o", "APT::Install-Recommends=false",
		"-o", "APT::Architecture=amd64",
		"install",
	}
	cmd := exec.Command("apt-get", append(args, roots...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Skipf("apt-get -s: %v\n%s", err, out)
	}
	var pkgs []*deb.Package
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		// "Inst libc6 (2.36-9+deb12u13 Debian:12.13/oldstable [amd64])",
		// with "[old version]" before the parenthesis for an upgrade.
		f := strings.Fields(sc.Text())
		if len(f) < 3 || f[0] != "Inst" {
			continue
		}
		i := slices.IndexFunc(f, func(s string) bool { return strings.HasPrefix(s, "(") })
		if i < 0 {
			t.Fatalf("apt-get: unexpected line %q", sc.Text())
		}
		pkgs = append(pkgs, &deb.Package{Name: f[1], Version: mustVersion(t, f[i][1:])})
	}
	slices.SortFunc(pkgs, func(a, b *deb.Package) int { return strings.Compare(a.Name, b.Name) })
	return pinsOf(pkgs)
}
