package debarchive

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kiln-build/kiln/internal/cache"
	"github.com/kiln-build/kiln/internal/testcache"
)

// needArchive skips the test when deb.debian.org cannot be reached, except
// in CI, where that is a failure.
func needArchive(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("reads the real Debian archive")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodHead, DefaultMirror+"/dists/bookworm/InRelease", nil)
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return
		}
		err = &statusError{resp.StatusCode, resp.Status}
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("Debian archive unreachable in CI: %v", err)
	}
	t.Skipf("Debian archive unreachable: %v", err)
}

// TestRealArchive opens bookworm for amd64 and arm64 with the embedded
// keyring. Packages files (about 9 MB each) are kept in the test cache, so
// only the first run downloads them.
func TestRealArchive(t *testing.T) {
	needArchive(t)
	c, err := cache.Open(filepath.Join(testcache.Dir(), "debarchive"))
	if err != nil {
		t.Fatal(err)
	}
	a := &Archive{Cache: c}
	ctx := context.Background()

	start := time.Now()
	ix, err := a.Open(ctx, "bookworm", "amd64")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Open(bookworm, amd64): %v", time.Since(start))
	ps := ix.Packages("python3.11-minimal")
	if len(ps) == 0 {
		t.Fatal("no python3.11-minimal in bookworm amd64")
	}
	p := ps[0]
	if p.Architecture != "amd64" || !sha256Hex.MatchString(p.SHA256) || p.Size <= 0 ||
		!strings.HasPrefix(p.Filename, "pool/") || !strings.Contains(p.Filename, "/main/p/python3.11/python3.11-minimal_") || !strings.HasSuffix(p.Filename, "_amd64.deb") {
		t.Errorf("python3.11-minimal %s: arch %s sha256 %q size %d filename %q", p.Version, p.Architecture, p.SHA256, p.Size, p.Filename)
	}
	if u := ix.URL(p); !strings.HasPrefix(u, "http://deb.debian.org/debian") || !strings.HasSuffix(u, "/"+p.Filename) {
		t.Errorf("URL = %s", u)
	}
	t.Logf("python3.11-minimal %s from %s: %s", p.Version, ix.Suite(p), ix.URL(p))
	for i, r := range ix.Releases {
		t.Logf("%s: %s %s, %s", ix.Suites[i], r.Suite, r.Version, r.Date.Format(time.DateOnly))
	}
	if len(ix.Providers("awk")) < 2 {
		t.Errorf("awk providers: %d", len(ix.Providers("awk")))
	}

	start = time.Now()
	arm, err := a.Open(ctx, "bookworm", "arm64")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Open(bookworm, arm64): %v", time.Since(start))
	libc := arm.Packages("libc6")
	if len(libc) == 0 || libc[0].Architecture != "arm64" || !strings.HasSuffix(libc[0].Filename, "_arm64.deb") {
		t.Fatalf("libc6 for arm64: %v", versions(arm, libc))
	}
	t.Logf("libc6 %s arm64 from %s", libc[0].Version, arm.Suite(libc[0]))

	start = time.Now()
	if _, err := a.Open(ctx, "bookworm", "amd64"); err != nil {
		t.Fatal(err)
	}
	t.Logf("Open(bookworm, amd64) again, Packages cached: %v", time.Since(start))
}
