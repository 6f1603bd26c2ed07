// Package debarchive reads a Debian archive without apt and without trusting
// the network: every InRelease must carry a valid signature from a key of
// the keyring, and every Packages index must match the size and sha256 that
// its signed InRelease gives, before anything in it is used.
package debarchive

import (
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/klauspost/compress/gzip"
	"github.com/ulikunitz/xz"

	"github.com/kiln-build/kiln/internal/cache"
	"github.com/kiln-build/kiln/internal/deb"
)

// A copy of /usr/share/keyrings/debian-archive-keyring.gpg from Debian's
// debian-archive-keyring 2023.3+deb12u2: the archive, security and
// stable-release keys of bullseye, bookworm and trixie (RSA-4096 and
// Ed25519), expiring between 2029 and 2035.
//
//go:embed keys/debian-archive-keyring.gpg
var debianKeyring []byte

// DefaultKeyring returns Debian's archive signing keys, as shipped with kiln.
func DefaultKeyring() (openpgp.EntityList, error) {
	kr, err := openpgp.ReadKeyRing(bytes.NewReader(debianKeyring))
	if err != nil {
		return nil, fmt.Errorf("embedded Debian archive keyring: %w", err)
	}
	return kr, nil
}

const (
	// DefaultMirror and DefaultSecurityMirror are deb.debian.org's CDN.
	DefaultMirror         = "http://deb.debian.org/debian"
	DefaultSecurityMirror = "http://deb.debian.org/debian-security"

	// Real InRelease files are under 200 KB; this only bounds what a
	// hostile server can make kiln read before the signature check.
	maxInRelease = 16 << 20
)

// Archive is a Debian mirror and what kiln trusts it with. The zero value
// reads deb.debian.org with Debian's keys and no cache. Plain HTTP is as
// safe as HTTPS here: integrity comes from the signatures, not the transport.
type Archive struct {
	Mirror         string             // default DefaultMirror
	SecurityMirror string             // default DefaultSecurityMirror
	Keyring        openpgp.EntityList // default DefaultKeyring()
	Client         *http.Client       // default: with timeouts
	// Cache, when set, keeps each uncompressed Packages index under the
	// sha256 its InRelease gives, so an index the archive has not changed
	// is neither downloaded nor decompressed again. InRelease is always
	// fetched: it is what says whether an index changed.
	Cache *cache.Cache
	Now   func() time.Time // default time.Now; for Valid-Until and key expiry
}

var (
	suiteName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.+_-]*$`)
	archName  = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
)

// Open reads the verified indexes of suite, suite-updates and
// suite-security (the last from SecurityMirror) for arch.
//
// For each suite it fetches dists/SUITE/InRelease, checks that at least
// one signature in it verifies with an unexpired key of the keyring, that
// it is the suite asked for and that its Valid-Until has not passed; then
// it fetches main/binary-ARCH/Packages.xz (or .gz), by hash when the
// archive offers it, checks its size and sha256 against the signed list,
// and parses it, checking the decompressed index against its own signed
// sha256 too. All three suites must exist.
func (a *Archive) Open(ctx context.Context, suite, arch string) (*Index, error) {
	if !suiteName.MatchString(suite) {
		return nil, fmt.Errorf("suite %q: not a valid suite name", suite)
	}
	if !archName.MatchString(arch) {
		return nil, fmt.Errorf("architecture %q: not a valid Debian architecture name", arch)
	}
	keyring := a.Keyring
	if keyring == nil {
		var err error
		if keyring, err = DefaultKeyring(); err != nil {
			return nil, err
		}
	}
	mirror := strings.TrimRight(orDefault(a.Mirror, DefaultMirror), "/")
	security := strings.TrimRight(orDefault(a.SecurityMirror, DefaultSecurityMirror), "/")
	ix := &Index{
		Arch:     arch,
		Suites:   []string{suite, suite + "-updates", suite + "-security"},
		Releases: make([]*Release, 3),
	}
	mirrors := []string{mirror, mirror, security}
	found := make([][]*deb.Package, len(ix.Suites))

	// The suites are read in parallel but not cancelled on the first
	// failure, so that the error reported is always the first suite's:
	// "no suite buster" rather than whichever of three 404s came first.
	errs := make([]error, len(ix.Suites))
	var wg sync.WaitGroup
	for i, s := range ix.Suites {
		wg.Go(func() {
			rel, err := a.release(ctx, keyring, mirrors[i], s, arch)
			if err == nil {
				ix.Releases[i] = rel
				found[i], err = a.packages(ctx, rel, s, arch)
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	ix.build(found)
	return ix, nil
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// sharedClient is the default client, made once so that its connections
// are reused.
var sharedClient = sync.OnceValue(defaultClient)

func (a *Archive) client() *http.Client {
	if a.Client != nil {
		return a.Client
	}
	return sharedClient()
}

func (a *Archive) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// release fetches and verifies one suite's InRelease.
func (a *Archive) release(ctx context.Context, keyring openpgp.EntityList, mirror, suite, arch string) (*Release, error) {
	url := mirror + "/dists/" + suite + "/InRelease"
	data, err := get(ctx, a.client(), url, maxInRelease+1)
	if isNotFound(err) {
		return nil, fmt.Errorf("%s: %w: %s has no suite %q", url, err, mirror, suite)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", url, err)
	}
	if len(data) > maxInRelease {
		return nil, fmt.Errorf("%s: larger than %d bytes", url, maxInRelease)
	}
	now := a.now()
	body, err := verifyClearsigned(data, keyring, now)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", url, err)
	}
	rel, err := parseRelease(body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", url, err)
	}
	rel.URL, rel.Mirror = url, mirror
	if !rel.matches(suite) {
		return nil, fmt.Errorf("%s: is Codename %q, Suite %q, not the %q that was asked for", url, rel.Codename, rel.Suite, suite)
	}
	if !rel.ValidUntil.IsZero() && now.After(rel.ValidUntil) {
		return nil, fmt.Errorf("%s: expired at %s (Valid-Until); the mirror serves stale metadata", url, rel.ValidUntil.UTC().Format(time.RFC1123))
	}
	if !slices.Contains(rel.Architectures, arch) {
		return nil, fmt.Errorf("%s: suite %s has no architecture %q (it has %s)", url, suite, arch, strings.Join(rel.Architectures, " "))
	}
	return rel, nil
}

// packages returns the packages of arch and "all" in the suite's main
// component.
func (a *Archive) packages(ctx context.Context, rel *Release, suite, arch string) ([]*deb.Package, error) {
	indexes := []string{"main/binary-" + arch + "/Packages"}
	if !rel.archAllInArch && slices.Contains(rel.Architectures, "all") {
		indexes = append(indexes, "main/binary-all/Packages")
	}
	var all []*deb.Package
	for _, idx := range indexes {
		ps, err := a.index(ctx, rel, suite, idx, arch)
		if err != nil {
			return nil, err
		}
		all = append(all, ps...)
	}
	return all, nil
}

// index fetches, checks and parses one Packages index.
//
// The cache keeps the uncompressed index, under the sha256 that InRelease
// gives for it: decoding xz costs over a second per index, reading the
// cached file a fraction of that. A cold Open downloads the .xz (or .gz),
// checks it, and parses it as it decompresses, checking the decompressed
// bytes against their own signed hash too; only then are they cached.
func (a *Archive) index(ctx context.Context, rel *Release, suite, idx, arch string) ([]*deb.Package, error) {
	url := rel.Mirror + "/dists/" + suite + "/" + idx
	plain, listed := rel.Files[idx]
	if a.Cache != nil && listed {
		if f, err := a.Cache.Open(plain.SHA256); err == nil {
			defer f.Close()
			ps, err := parsePackages(f, arch)
			if err != nil {
				return nil, fmt.Errorf("%s (cached as %s): %w", url, f.Name(), err)
			}
			return ps, nil
		}
	}
	name, data, err := a.compressedIndex(ctx, rel, url, idx)
	if err != nil {
		return nil, err
	}
	var dec io.Reader
	if strings.HasSuffix(name, ".xz") {
		dec, err = xz.NewReader(bytes.NewReader(data))
	} else {
		dec, err = gzip.NewReader(bytes.NewReader(data))
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if !listed {
		ps, err := parsePackages(dec, arch)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return ps, nil
	}

	h := sha256.New()
	var n counter
	w := io.MultiWriter(h, &n)
	var tmp *os.File
	if a.Cache != nil {
		if tmp, err = a.Cache.TempFile("packages-*"); err != nil {
			return nil, fmt.Errorf("%s: cache: %w", name, err)
		}
		defer os.Remove(tmp.Name()) // fails harmlessly once moved into the cache
		defer tmp.Close()
		w = io.MultiWriter(h, &n, tmp)
	}
	// One byte past the signed size is enough to know it is wrong, and
	// bounds what a decompression bomb could make kiln read.
	r := io.TeeReader(io.LimitReader(dec, plain.Size+1), w)
	ps, perr := parsePackages(r, arch)
	if perr != nil {
		// Content that does not match its hash explains any parse error.
		io.Copy(io.Discard, r)
	}
	if got := hex.EncodeToString(h.Sum(nil)); int64(n) != plain.Size || got != plain.SHA256 {
		return nil, fmt.Errorf("%s: decompresses to %d bytes with sha256 %s, InRelease says %d bytes with sha256 %s for %s",
			name, n, got, plain.Size, plain.SHA256, idx)
	}
	if perr != nil {
		return nil, fmt.Errorf("%s: %w", name, perr)
	}
	if tmp != nil {
		if err := tmp.Close(); err != nil {
			return nil, fmt.Errorf("%s: cache: %w", name, err)
		}
		if err := a.Cache.PutFile(tmp.Name(), plain.SHA256); err != nil {
			return nil, fmt.Errorf("%s: cache: %w", name, err)
		}
	}
	return ps, nil
}

type counter int64

func (c *counter) Write(p []byte) (int, error) {
	*c += counter(len(p))
	return len(p), nil
}

// compressedIndex downloads the .xz, else the .gz, of the index at url
// (by hash when the archive offers that) and checks its size and sha256
// against the signed list. It returns the URL of the file it used (by
// name, for messages) and its content.
func (a *Archive) compressedIndex(ctx context.Context, rel *Release, url, idx string) (string, []byte, error) {
	listed := 0
	for _, ext := range []string{".xz", ".gz"} {
		want, ok := rel.Files[idx+ext]
		if !ok {
			continue
		}
		listed++
		name := url + ext
		var data []byte
		var err error
		if rel.AcquireByHash {
			// A by-hash name never changes content, so a mirror updating
			// mid-download cannot hand over the wrong version.
			byHash := url[:strings.LastIndexByte(url, '/')] + "/by-hash/SHA256/" + want.SHA256
			data, err = get(ctx, a.client(), byHash, want.Size+1)
			if isNotFound(err) {
				data, err = get(ctx, a.client(), name, want.Size+1)
			}
		} else {
			data, err = get(ctx, a.client(), name, want.Size+1)
		}
		if isNotFound(err) {
			continue // apt too falls back to the next compression
		}
		if err != nil {
			return "", nil, fmt.Errorf("%s: %w", name, err)
		}
		if int64(len(data)) != want.Size {
			more := ""
			if int64(len(data)) > want.Size {
				more = " or more"
			}
			return "", nil, fmt.Errorf("%s: size %d%s, InRelease says %d", name, len(data), more, want.Size)
		}
		sum := sha256.Sum256(data)
		if got := hex.EncodeToString(sum[:]); got != want.SHA256 {
			return "", nil, fmt.Errorf("%s: sha256 %s, InRelease says %s", name, got, want.SHA256)
		}
		return name, data, nil
	}
	if listed == 0 {
		return "", nil, fmt.Errorf("%s: lists no %s.xz or %s.gz", rel.URL, idx, idx)
	}
	return "", nil, fmt.Errorf("%s: %s.xz and .gz are listed but the mirror has neither", rel.URL, url)
}

// parsePackages reads a Packages index, keeping the packages of arch and
// "all".
func parsePackages(r io.Reader, arch string) ([]*deb.Package, error) {
	var ps []*deb.Package
	pr := deb.NewReader(r)
	for {
		para, err := pr.Next()
		if errors.Is(err, io.EOF) {
			return ps, nil
		}
		if err != nil {
			return nil, err
		}
		p, err := deb.PackageFromParagraph(para)
		if err != nil {
			return nil, err
		}
		if p.Architecture != arch && p.Architecture != "all" {
			continue
		}
		if !poolPath(p.Filename) {
			return nil, fmt.Errorf("package %s %s: Filename %q is not a relative path", p.Name, p.Version, p.Filename)
		}
		if !sha256Hex.MatchString(p.SHA256) {
			return nil, fmt.Errorf("package %s %s: SHA256 %q is not a sha256", p.Name, p.Version, p.SHA256)
		}
		ps = append(ps, p)
	}
}

// poolPath reports whether a Filename stays below the mirror root.
func poolPath(p string) bool {
	if p == "" || strings.HasPrefix(p, "/") || strings.Contains(p, "\\") {
		return false
	}
	for _, e := range strings.Split(p, "/") {
		if e == "" || e == "." || e == ".." {
			return false
		}
	}
	return true
}
