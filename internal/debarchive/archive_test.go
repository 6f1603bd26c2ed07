package debarchive

import (
	"context"
	"crypto"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/kiln-build/kiln/internal/cache"
	"github.com/kiln-build/kiln/internal/deb"
)

func versions(ix *Index, ps []*deb.Package) []string {
	var out []string
	for _, p := range ps {
		out = append(out, fmt.Sprintf("%s %s %s %s", p.Name, p.Version, p.Architecture, ix.Suite(p)))
	}
	return out
}

func wantList(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\ngot  %q\nwant %q", what, got, want)
	}
}

func wantErr(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one containing %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q\ndoes not contain %q", err, p)
		}
	}
}

func TestOpenMergesSuites(t *testing.T) {
	k := keys(t)
	m := newMirror(t)
	m.standard(t, k.rsa, k.ed25519)
	ix, err := m.archive(publicOnly(t, k.rsa, k.ed25519)).Open(context.Background(), "bookworm", "amd64")
	if err != nil {
		t.Fatal(err)
	}
	wantList(t, "suites", ix.Suites, []string{"bookworm", "bookworm-updates", "bookworm-security"})
	wantList(t, "openssl", versions(ix, ix.Packages("openssl")), []string{
		"openssl 3.0.17-1~deb12u2 amd64 bookworm-security",
		"openssl 3.0.15-1~deb12u1 amd64 bookworm",
		"openssl 3.0.11-1~deb12u2 amd64 bookworm-security",
	})
	// One copy of a version two suites list; arm64 is not for this index.
	wantList(t, "libc6", versions(ix, ix.Packages("libc6")), []string{"libc6 2.36-9+deb12u7 amd64 bookworm"})
	wantList(t, "tzdata", versions(ix, ix.Packages("tzdata")), []string{
		"tzdata 2025b-0+deb12u1 all bookworm-updates",
		"tzdata 2024a-0+deb12u1 all bookworm",
	})
	wantList(t, "awk providers", versions(ix, ix.Providers("awk")), []string{
		"gawk 1:5.2.1-2 amd64 bookworm",
		"mawk 1.3.4.20200120-3.1 amd64 bookworm",
	})
	wantList(t, "versioned provides", versions(ix, ix.Providers("python3-supported-max")), []string{
		"python3-minimal 3.11.2-1+b1 amd64 bookworm",
	})
	if ps := ix.Packages("no-such-package"); ps != nil {
		t.Errorf("Packages(no-such-package) = %v", ps)
	}

	top := ix.Packages("openssl")[0]
	if got, want := ix.URL(top), m.srv.URL+"/debian-security/pool/main/o/openssl/openssl_3.0.17-1~deb12u2_amd64.deb"; got != want {
		t.Errorf("URL = %s, want %s", got, want)
	}
	if got, want := ix.URL(ix.Packages("libc6")[0]), m.srv.URL+"/debian/pool/main/l/libc6/libc6_2.36-9+deb12u7_amd64.deb"; got != want {
		t.Errorf("URL = %s, want %s", got, want)
	}
	if top.SHA256 != sum([]byte("openssl3.0.17-1~deb12u2amd64")) || top.Size != 1000 {
		t.Errorf("openssl SHA256 %s Size %d: not the index's", top.SHA256, top.Size)
	}
	foreign := &deb.Package{Name: "x", Filename: "pool/x.deb"}
	if ix.URL(foreign) != "" || ix.Suite(foreign) != "" {
		t.Errorf("a package from elsewhere got URL %q suite %q", ix.URL(foreign), ix.Suite(foreign))
	}
	if r := ix.Releases[2]; r.ValidUntil.IsZero() || r.Codename != "bookworm-security" || !r.AcquireByHash {
		t.Errorf("security release = %+v", r)
	}
}

func TestOpenUsesByHash(t *testing.T) {
	k := keys(t)
	m := newMirror(t)
	dir := m.add(t, "/debian", suite{name: "bookworm", signers: []*openpgp.Entity{k.rsa}, packages: bookwormPackages})
	m.add(t, "/debian", suite{name: "bookworm-updates", signers: []*openpgp.Entity{k.rsa}, packages: updatesPackages, noByHash: true})
	m.add(t, "/debian-security", suite{name: "bookworm-security", signers: []*openpgp.Entity{k.rsa}, packages: securityPackages})
	if _, err := m.archive(publicOnly(t, k.rsa)).Open(context.Background(), "bookworm", "amd64"); err != nil {
		t.Fatal(err)
	}
	m.mu.Lock()
	xzSum := sum(m.files[dir+"/main/binary-amd64/Packages.xz"])
	m.mu.Unlock()
	if n := m.requested(dir + "/main/binary-amd64/by-hash/SHA256/" + xzSum); n != 1 {
		t.Errorf("by-hash Packages.xz requested %d times, want 1", n)
	}
	if n := m.requested(dir + "/main/binary-amd64/Packages.xz"); n != 0 {
		t.Errorf("Packages.xz requested by name %d times though Acquire-By-Hash is yes", n)
	}
	if n := m.requested("/debian/dists/bookworm-updates/main/binary-amd64/Packages.xz"); n != 1 {
		t.Errorf("without Acquire-By-Hash, Packages.xz requested by name %d times, want 1", n)
	}
}

func TestOpenFallsBackToGzip(t *testing.T) {
	k := keys(t)
	m := newMirror(t)
	m.standard(t, k.ed25519)
	// bookworm-updates lists only .gz; bookworm lists .xz but no longer serves it.
	m.add(t, "/debian", suite{name: "bookworm-updates", signers: []*openpgp.Entity{k.ed25519}, packages: updatesPackages, noXZ: true})
	m.replace(t, "/debian/dists/bookworm/main/binary-amd64/Packages.xz", func([]byte) []byte { return nil })
	ix, err := m.archive(publicOnly(t, k.ed25519)).Open(context.Background(), "bookworm", "amd64")
	if err != nil {
		t.Fatal(err)
	}
	wantList(t, "tzdata", versions(ix, ix.Packages("tzdata")), []string{
		"tzdata 2025b-0+deb12u1 all bookworm-updates",
		"tzdata 2024a-0+deb12u1 all bookworm",
	})
}

func TestTamperedInRelease(t *testing.T) {
	k := keys(t)
	m := newMirror(t)
	m.standard(t, k.rsa, k.ed25519)
	m.edit(t, "/debian/dists/bookworm/InRelease", func(b []byte) []byte {
		return []byte(strings.Replace(string(b), "Components: main", "Components: main contrib", 1))
	})
	_, err := m.archive(publicOnly(t, k.rsa, k.ed25519)).Open(context.Background(), "bookworm", "amd64")
	wantErr(t, err, m.srv.URL+"/debian/dists/bookworm/InRelease: no valid signature from a trusted key", "invalid signature")
}

func TestUntrustedSigner(t *testing.T) {
	k := keys(t)
	m := newMirror(t)
	m.standard(t, k.untrusted)
	_, err := m.archive(publicOnly(t, k.rsa, k.ed25519)).Open(context.Background(), "bookworm", "amd64")
	wantErr(t, err, "/dists/bookworm", "/InRelease: no valid signature from a trusted key",
		fmt.Sprintf("signed by %X, none of them in the keyring", k.untrusted.PrimaryKey.Fingerprint))
}

func TestOneGoodSignatureIsEnough(t *testing.T) {
	k := keys(t)
	trusted := publicOnly(t, k.expired, k.rsa, k.ed25519)
	for _, signers := range [][]*openpgp.Entity{
		{k.untrusted, k.expired, k.ed25519}, // the valid one last
		{k.expired, k.rsa},
		{k.rsa, k.ed25519},
	} {
		m := newMirror(t)
		m.standard(t, signers...)
		if _, err := m.archive(trusted).Open(context.Background(), "bookworm", "amd64"); err != nil {
			t.Errorf("signed by %d keys, one valid: %v", len(signers), err)
		}
	}
}

func TestExpiredKey(t *testing.T) {
	k := keys(t)
	m := newMirror(t)
	m.standard(t, k.expired)
	_, err := m.archive(publicOnly(t, k.expired, k.rsa)).Open(context.Background(), "bookworm", "amd64")
	wantErr(t, err, "/InRelease: no valid signature from a trusted key", "Expired Key", "expired")
}

func TestWeakHashRefused(t *testing.T) {
	k := keys(t)
	m := newMirror(t)
	m.standard(t, k.rsa)
	m.add(t, "/debian", suite{name: "bookworm", signers: []*openpgp.Entity{k.rsa}, packages: bookwormPackages, hash: crypto.SHA1})
	_, err := m.archive(publicOnly(t, k.rsa)).Open(context.Background(), "bookworm", "amd64")
	wantErr(t, err, "/debian/dists/bookworm/InRelease: no valid signature from a trusted key", "weak hash SHA-1")
}

func TestUnsignedContentRefused(t *testing.T) {
	k := keys(t)
	for name, f := range map[string]func([]byte) []byte{
		"before": func(b []byte) []byte { return append([]byte("Codename: bookworm\n\n"), b...) },
		"after":  func(b []byte) []byte { return append(b, "\nSHA256:\n 00 1 x\n"...) },
		"plain":  func(b []byte) []byte { return []byte("Codename: bookworm\nSuite: bookworm\n") },
	} {
		t.Run(name, func(t *testing.T) {
			m := newMirror(t)
			m.standard(t, k.rsa)
			m.edit(t, "/debian/dists/bookworm/InRelease", f)
			_, err := m.archive(publicOnly(t, k.rsa)).Open(context.Background(), "bookworm", "amd64")
			wantErr(t, err, "/debian/dists/bookworm/InRelease: ")
		})
	}
}

func TestModifiedPackages(t *testing.T) {
	k := keys(t)
	c, err := cache.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for name, f := range map[string]func([]byte) []byte{
		"flipped byte": func(b []byte) []byte { b[len(b)/2] ^= 1; return b },
		"appended":     func(b []byte) []byte { return append(b, 0) },
	} {
		t.Run(name, func(t *testing.T) {
			m := newMirror(t)
			m.standard(t, k.rsa)
			want, bad := m.replace(t, "/debian/dists/bookworm/main/binary-amd64/Packages.xz", f)
			a := m.archive(publicOnly(t, k.rsa))
			a.Cache = c
			_, err := a.Open(context.Background(), "bookworm", "amd64")
			if name == "appended" {
				wantErr(t, err, m.srv.URL+"/debian/dists/bookworm/main/binary-amd64/Packages.xz: size ", " or more, InRelease says ")
			} else {
				wantErr(t, err, fmt.Sprintf("%s/debian/dists/bookworm/main/binary-amd64/Packages.xz: sha256 %s, InRelease says %s", m.srv.URL, bad, want))
			}
			for _, b := range cached(t, c) {
				if b == want || b == bad || b == sum([]byte(bookwormPackages)) {
					t.Errorf("the Packages file that failed its check entered the cache as %s", b)
				}
			}
		})
	}
}

// A compressed index that matches its hash but decompresses to something
// else than the signed uncompressed hash: the archive is inconsistent.
func TestDecompressedMismatch(t *testing.T) {
	k := keys(t)
	m := newMirror(t)
	m.standard(t, k.rsa)
	m.add(t, "/debian", suite{name: "bookworm-updates", signers: []*openpgp.Entity{k.rsa}, packages: updatesPackages, wrongPlain: true})
	c, err := cache.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	a := m.archive(publicOnly(t, k.rsa))
	a.Cache = c
	_, err = a.Open(context.Background(), "bookworm", "amd64")
	wantErr(t, err, "/debian/dists/bookworm-updates/main/binary-amd64/Packages.xz: decompresses to ",
		fmt.Sprintf("InRelease says %d bytes with sha256 %s for main/binary-amd64/Packages", len(updatesPackages), sum([]byte("wrong"))))
	for _, b := range cached(t, c) {
		if b == sum([]byte(updatesPackages)) {
			t.Error("the inconsistent index entered the cache")
		}
	}
}

func cached(t *testing.T, c *cache.Cache) []string {
	t.Helper()
	blobs, err := filepath.Glob(filepath.Join(c.Root(), "blobs", "sha256", "*"))
	if err != nil {
		t.Fatal(err)
	}
	for i, b := range blobs {
		blobs[i] = filepath.Base(b)
	}
	return blobs
}

func TestValidUntil(t *testing.T) {
	k := keys(t)
	m := newMirror(t)
	m.standard(t, k.rsa)
	m.add(t, "/debian-security", suite{name: "bookworm-security", signers: []*openpgp.Entity{k.rsa}, packages: securityPackages,
		validUntil: time.Now().Add(-time.Hour)})
	_, err := m.archive(publicOnly(t, k.rsa)).Open(context.Background(), "bookworm", "amd64")
	wantErr(t, err, m.srv.URL+"/debian-security/dists/bookworm-security/InRelease: expired at ", "Valid-Until")

	// The same mirror, fresh, read by a machine whose clock is eight days on.
	m.standard(t, k.rsa)
	a := m.archive(publicOnly(t, k.rsa))
	if _, err := a.Open(context.Background(), "bookworm", "amd64"); err != nil {
		t.Fatal(err)
	}
	a.Now = func() time.Time { return time.Now().Add(8 * 24 * time.Hour) }
	_, err = a.Open(context.Background(), "bookworm", "amd64")
	wantErr(t, err, "/debian-security/dists/bookworm-security/InRelease: expired at ")
}

func TestWrongSuite(t *testing.T) {
	k := keys(t)
	m := newMirror(t)
	m.standard(t, k.rsa)
	// A validly signed trixie InRelease served as bookworm's (a replay).
	m.add(t, "/debian", suite{name: "bookworm", codename: "trixie", signers: []*openpgp.Entity{k.rsa}, packages: bookwormPackages})
	a := m.archive(publicOnly(t, k.rsa))
	_, err := a.Open(context.Background(), "bookworm", "amd64")
	wantErr(t, err, "/debian/dists/bookworm/InRelease: is Codename \"trixie\"", "not the \"bookworm\" that was asked for")

	_, err = a.Open(context.Background(), "buster", "amd64")
	wantErr(t, err, m.srv.URL+"/debian/dists/buster/InRelease: 404 Not Found", "has no suite \"buster\"")

	m.standard(t, k.rsa)
	_, err = a.Open(context.Background(), "bookworm", "riscv64")
	wantErr(t, err, "/InRelease: suite bookworm", "has no architecture \"riscv64\" (it has all amd64 arm64)")

	for _, bad := range [][2]string{{"../etc", "amd64"}, {"", "amd64"}, {"bookworm", "amd64/../x"}} {
		_, err = a.Open(context.Background(), bad[0], bad[1])
		wantErr(t, err, "not a valid")
	}
}

func TestBadStanza(t *testing.T) {
	k := keys(t)
	m := newMirror(t)
	m.standard(t, k.rsa)
	evil := strings.Replace(pkg("evil", "1.0", "amd64", ""), "Filename: pool/main/e/evil/evil_1.0_amd64.deb", "Filename: ../../etc/passwd", 1)
	m.add(t, "/debian", suite{name: "bookworm-updates", signers: []*openpgp.Entity{k.rsa}, packages: updatesPackages + evil})
	_, err := m.archive(publicOnly(t, k.rsa)).Open(context.Background(), "bookworm", "amd64")
	wantErr(t, err, "/debian/dists/bookworm-updates/main/binary-amd64/Packages.xz: package evil 1.0: Filename \"../../etc/passwd\" is not a relative path")
}

func TestCacheAndRetry(t *testing.T) {
	k := keys(t)
	m := newMirror(t)
	m.standard(t, k.rsa)
	c, err := cache.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	a := m.archive(publicOnly(t, k.rsa))
	a.Cache = c
	m.mu.Lock()
	m.fail["/debian/dists/bookworm/InRelease"] = 2
	m.mu.Unlock()
	if _, err := a.Open(context.Background(), "bookworm", "amd64"); err != nil {
		t.Fatalf("two 503s then success: %v", err)
	}
	if n := m.requested("/debian/dists/bookworm/InRelease"); n != 3 {
		t.Errorf("InRelease requested %d times, want 3 (two 503s, then 200)", n)
	}
	byHash := func() int {
		m.mu.Lock()
		defer m.mu.Unlock()
		n := 0
		for _, p := range m.got {
			if strings.Contains(p, "/by-hash/") {
				n++
			}
		}
		return n
	}
	before := byHash()
	if before != 3 {
		t.Fatalf("%d by-hash downloads on a cold cache, want 3", before)
	}
	ix, err := a.Open(context.Background(), "bookworm", "amd64")
	if err != nil {
		t.Fatal(err)
	}
	if n := byHash(); n != before {
		t.Errorf("warm cache: %d more Packages downloads, want 0", n-before)
	}
	if n := m.requested("/debian/dists/bookworm/InRelease"); n != 4 {
		t.Errorf("InRelease requested %d times, want 4: it is never cached", n)
	}
	if len(ix.Packages("openssl")) != 3 {
		t.Errorf("from cache: openssl versions %v", versions(ix, ix.Packages("openssl")))
	}

	// A corrupted cache entry is noticed and fetched again.
	for _, b := range cached(t, c) {
		if err := os.WriteFile(c.Path(b), []byte("corrupt"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.Open(context.Background(), "bookworm", "amd64"); err != nil {
		t.Fatal(err)
	}
	if n := byHash(); n != before+3 {
		t.Errorf("after corrupting the cache: %d downloads, want 3", n-before)
	}

	// A 404 is final, not retried.
	m.mu.Lock()
	delete(m.files, "/debian/dists/bookworm-updates/InRelease")
	m.mu.Unlock()
	_, err = a.Open(context.Background(), "bookworm", "amd64")
	wantErr(t, err, "/debian/dists/bookworm-updates/InRelease: 404 Not Found")
	if n := m.requested("/debian/dists/bookworm-updates/InRelease"); n != 4 {
		t.Errorf("bookworm-updates InRelease requested %d times, want 4 (3 good, one 404)", n)
	}
}
