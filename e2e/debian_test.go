package e2e

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// runtimePackages is the apt-get line of one of the seed documents.
var runtimePackages = "ca-certificates,clang-format,curl,libjpeg62-turbo,libpq5,nginx,openssl,passwd,supervisor,unzip,zlib1g,dpkg"

// requireDebianArchive skips without the real Debian archive, except in CI.
func requireDebianArchive(t *testing.T) {
	t.Helper()
	resp, err := http.Head("http://deb.debian.org/debian/dists/bookworm/InRelease")
	if err == nil {
		resp.Body.Close()
	}
	if err != nil || resp.StatusCode != http.StatusOK {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the Debian archive is not reachable and CI=true: %v", err)
		}
		t.Skipf("the Debian archive is not reachable: %v", err)
	}
}

// TestDebianBaseWithPackagesRunsInDocker: the example on a base assembled
// from Debian's archive, plus the runtime packages of the seed documents,
// built without apt or a daemon, runs in the engine.
func TestDebianBaseWithPackagesRunsInDocker(t *testing.T) {
	requireDocker(t)
	requireDebianArchive(t)
	f := newFixture(t)
	f.base = "deb:bookworm"
	image := uniqueName("kiln-e2e-deb") + ":test"
	t.Cleanup(func() { run("docker", "rmi", "-f", image) })
	f.mustBuild(t, "--platform", "linux/amd64", "--package", runtimePackages, "--output", "docker-daemon:"+image)
	if _, err := os.Stat(filepath.Join(f.dir, "kiln.lock")); err != nil {
		t.Fatalf("the build did not write kiln.lock: %v", err)
	}

	container := uniqueName("kiln-e2e-deb")
	t.Cleanup(func() { run("docker", "rm", "-f", container) })
	docker(t, "run", "-d", "--name", container, "-p", "127.0.0.1::8000", image)
	port := docker(t, "port", container, "8000/tcp")
	port = port[strings.LastIndex(port, ":")+1:]
	if _, _, err := waitHTTP("http://127.0.0.1:"+port+"/health", 60*time.Second); err != nil {
		t.Fatalf("health: %v\nlogs:\n%s", err, docker(t, "logs", container))
	}
	out := docker(t, "exec", container, "python", "-c", `
import ssl, sqlite3, ctypes, zoneinfo, uuid, locale
n = ssl.create_default_context().cert_store_stats()["x509_ca"]
locale.setlocale(locale.LC_ALL, "C.UTF-8")
zoneinfo.ZoneInfo("Europe/Berlin")
import ctypes.util
print(n, ctypes.util.find_library("pq"))`)
	fields := strings.Fields(out)
	if len(fields) != 2 || len(fields[0]) < 3 || fields[1] != "libpq.so.5" {
		t.Errorf("python checks printed %q; want more than 100 CAs and find_library(pq) = libpq.so.5", out)
	}
	// nginx's Debian configuration starts as root (it writes /run/nginx.pid), as its service does.
	docker(t, "exec", "-u", "0", container, "nginx", "-t")
	for _, c := range [][]string{{"curl", "--version"}, {"supervisord", "--version"}, {"openssl", "version"}, {"clang-format", "--version"}, {"unzip", "-v"}} {
		docker(t, append([]string{"exec", container}, c...)...)
	}
	list := docker(t, "exec", container, "dpkg", "-l")
	for _, p := range strings.Split(runtimePackages, ",") {
		if !strings.Contains(list, "\nii  "+p+" ") && !strings.Contains(list, "\nii  "+p+":amd64 ") {
			t.Errorf("dpkg -l does not list %s as installed", p)
		}
	}
	if uid := docker(t, "exec", container, "id", "-u"); uid != "1001" {
		t.Errorf("id -u = %s", uid)
	}
}

// TestDebianArm64: the same on arm64, built on this amd64 machine with no
// emulation, checked by reading the image.
func TestDebianArm64(t *testing.T) {
	requireDebianArchive(t)
	f := newFixture(t)
	f.base = "deb:bookworm"
	out := t.TempDir()
	f.mustBuild(t, "--platform", "linux/arm64", "--package", runtimePackages, "--output", "oci:"+out+":arm64")
	p, err := layout.FromPath(out)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	im, _ := idx.IndexManifest()
	img, err := idx.Image(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	cf, _ := img.ConfigFile()
	if cf.Architecture != "arm64" {
		t.Fatalf("config architecture %s", cf.Architecture)
	}
	bins := []string{"usr/bin/python3.11", "usr/bin/curl", "usr/sbin/nginx", "usr/bin/openssl", "usr/bin/unzip", "usr/lib/llvm-14/bin/clang-format"}
	files := filesOf(t, img, append(bins, "var/lib/dpkg/status")...)
	for _, bin := range bins {
		ef, err := elf.NewFile(bytes.NewReader(files[bin]))
		if err != nil {
			t.Fatalf("%s: %v", bin, err)
		}
		if ef.Machine != elf.EM_AARCH64 {
			t.Errorf("%s is %v", bin, ef.Machine)
		}
	}
	status := string(files["var/lib/dpkg/status"])
	for _, p := range append(strings.Split(runtimePackages, ","), "libc6", "python3.11-minimal") {
		if !strings.Contains(status, "Package: "+p+"\n") {
			t.Errorf("dpkg status lacks %s", p)
		}
	}
	if strings.Contains(status, "Architecture: amd64") || !strings.Contains(status, "Architecture: arm64") {
		t.Error("dpkg status entries are not arm64")
	}
}

// filesOf reads named files from the flattened image (the last layer that
// has one wins).
func filesOf(t *testing.T, img v1.Image, names ...string) map[string][]byte {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	out := map[string][]byte{}
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if want[h.Name] && h.Typeflag == tar.TypeReg {
				out[h.Name], _ = io.ReadAll(tr)
			}
		}
		rc.Close()
	}
	for _, n := range names {
		if out[n] == nil {
			t.Fatalf("no %s in the image", n)
		}
	}
	return out
}

// TestDebianLockReproducible: two builds from cold caches with the same
// kiln.lock give the same digest, and the second reads no index.
func TestDebianLockReproducible(t *testing.T) {
	requireDebianArchive(t)
	f := newFixture(t)
	f.base = "deb:bookworm"
	first := f.mustBuild(t, "--platform", "linux/amd64", "--package", "unzip")
	lock, err := os.ReadFile(filepath.Join(f.dir, "kiln.lock"))
	if err != nil {
		t.Fatal(err)
	}
	f.cache = t.TempDir()
	mirror := newTamperMirror(t, nil)
	second := f.mustBuild(t, "--platform", "linux/amd64", "--package", "unzip", "--debian-mirror", mirror.srv.URL+"/debian", "--debian-security-mirror", mirror.srv.URL+"/debian-security")
	if first.Digest != second.Digest {
		t.Fatalf("same kiln.lock, different digests: %s and %s", first.Digest, second.Digest)
	}
	if n := mirror.requests.Load(); n != 0 {
		t.Errorf("a locked build asked the archive for %d files", n)
	}
	again, _ := os.ReadFile(filepath.Join(f.dir, "kiln.lock"))
	if !bytes.Equal(lock, again) {
		t.Error("a locked build rewrote kiln.lock")
	}
}

// tamperMirror forwards to the real archive and alters the files tamper picks.
type tamperMirror struct {
	srv      *httptest.Server
	requests atomic.Int32
}

func newTamperMirror(t *testing.T, tamper func(path string) bool) *tamperMirror {
	m := &tamperMirror{}
	m.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.requests.Add(1)
		resp, err := http.Get("http://deb.debian.org" + r.URL.Path)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		if resp.StatusCode == http.StatusOK && tamper != nil && tamper(r.URL.Path) {
			body = flipByte(r.URL.Path, body)
		}
		w.WriteHeader(resp.StatusCode)
		w.Write(body)
	}))
	t.Cleanup(m.srv.Close)
	return m
}

// flipByte changes one byte an attacker would: inside the signed text of an
// InRelease (a hash), or in the middle of any other file.
func flipByte(path string, b []byte) []byte {
	out := append([]byte(nil), b...)
	i := len(out) / 2
	if strings.HasSuffix(path, "InRelease") {
		i = bytes.Index(out, []byte("SHA256:")) + 10
	}
	out[i] ^= 0x01
	return out
}

func (f *fixture) expectDebianRefused(t *testing.T, tamper func(string) bool, want ...string) {
	t.Helper()
	mirror := newTamperMirror(t, tamper)
	f.cache = t.TempDir()
	os.Remove(filepath.Join(f.dir, "kiln.lock"))
	out := filepath.Join(t.TempDir(), "out")
	r := f.kiln(t, nil, "build", f.dir, "--base", f.base, "--platform", "linux/amd64", "--package", "unzip",
		"--debian-mirror", mirror.srv.URL+"/debian", "--debian-security-mirror", mirror.srv.URL+"/debian-security",
		"--output", "oci:"+out+":1")
	if r.code != 2 {
		t.Fatalf("exit %d, want 2\nstderr:\n%s", r.code, r.stderr)
	}
	for _, w := range want {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("error does not mention %q:\n%s", w, r.stderr)
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Error("a refused build wrote its output")
	}
	if _, err := os.Stat(filepath.Join(f.dir, "kiln.lock")); !os.IsNotExist(err) {
		t.Error("a refused build wrote kiln.lock")
	}
}

func TestDebianRefusesTamperedInRelease(t *testing.T) {
	requireDebianArchive(t)
	f := newFixture(t)
	f.expectDebianRefused(t, func(p string) bool { return p == "/debian/dists/bookworm/InRelease" }, "dists/bookworm/InRelease", "signature")
}

func TestDebianRefusesTamperedPackagesIndex(t *testing.T) {
	requireDebianArchive(t)
	f := newFixture(t)
	f.expectDebianRefused(t, func(p string) bool {
		return strings.HasPrefix(p, "/debian/dists/bookworm/main/binary-amd64/") && (strings.Contains(p, "Packages") || strings.Contains(p, "by-hash"))
	}, "main/binary-amd64/", "sha256")
}

func TestDebianRefusesTamperedDeb(t *testing.T) {
	requireDebianArchive(t)
	f := newFixture(t)
	f.expectDebianRefused(t, func(p string) bool { return strings.HasSuffix(p, ".deb") && strings.Contains(p, "/unzip_") }, "unzip_", "mismatch")
}

// TestDebianLockUpdateAndGone: `kiln lock --update` rewrites kiln.lock from
// the archive; a locked .deb the archive no longer serves fails the build
// naming it.
func TestDebianLockUpdateAndGone(t *testing.T) {
	requireDebianArchive(t)
	f := newFixture(t)
	lockPath := filepath.Join(f.dir, "kiln.lock")
	r := f.kiln(t, nil, "lock", f.dir, "--base", f.base, "--platform", "linux/amd64", "--package", "unzip")
	if r.code != 0 {
		t.Fatalf("kiln lock exited %d:\n%s", r.code, r.stderr)
	}
	lock, err := os.ReadFile(lockPath)
	if err != nil || !regexp.MustCompile(`name = ['"]unzip['"]`).Match(lock) {
		t.Fatalf("kiln lock wrote %q (%v)", lock, err)
	}
	// A lock naming a version the archive has dropped.
	gone := regexp.MustCompile(`(url = ['"][^'"]*/unzip_)[^'"]*(\.deb['"])`).ReplaceAllString(string(lock), "${1}0.0-gone_amd64${2}")
	if gone == string(lock) {
		t.Fatal("no unzip URL in kiln.lock")
	}
	if err := os.WriteFile(lockPath, []byte(gone), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out")
	r = f.kiln(t, nil, "build", f.dir, "--base", f.base, "--platform", "linux/amd64", "--package", "unzip", "--output", "oci:"+out+":1")
	if r.code != 2 || !strings.Contains(r.stderr, "unzip_0.0-gone_amd64.deb") || !strings.Contains(r.stderr, "404") {
		t.Fatalf("exit %d, want 2 naming the missing .deb:\n%s", r.code, r.stderr)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Error("output written")
	}
	r = f.kiln(t, nil, "lock", f.dir, "--base", f.base, "--platform", "linux/amd64", "--package", "unzip", "--update")
	if r.code != 0 {
		t.Fatalf("kiln lock --update exited %d:\n%s", r.code, r.stderr)
	}
	if again, _ := os.ReadFile(lockPath); string(again) != string(lock) {
		t.Errorf("kiln lock --update did not restore the archive's set:\n%s", again)
	}
}
