package debarchive

import (
	"bytes"
	"crypto"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/clearsign"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/klauspost/compress/gzip"
	"github.com/ulikunitz/xz"
)

// testKeys are generated once per test binary: RSA key generation costs
// about a second.
type testKeys struct {
	rsa, ed25519, untrusted, expired *openpgp.Entity
}

var keysOnce = sync.OnceValues(func() (*testKeys, error) {
	var k testKeys
	var err error
	if k.rsa, err = openpgp.NewEntity("Test Archive RSA", "", "rsa@test.invalid",
		&packet.Config{Algorithm: packet.PubKeyAlgoRSA, RSABits: 2048}); err != nil {
		return nil, err
	}
	ed := &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA, Curve: packet.Curve25519}
	if k.ed25519, err = openpgp.NewEntity("Test Archive Ed25519", "", "ed@test.invalid", ed); err != nil {
		return nil, err
	}
	if k.untrusted, err = openpgp.NewEntity("Someone Else", "", "else@test.invalid", ed); err != nil {
		return nil, err
	}
	// A key made two days ago that expired a day later; signatures it made
	// in its lifetime must no longer count.
	made := time.Now().Add(-48 * time.Hour)
	if k.expired, err = openpgp.NewEntity("Expired Key", "", "old@test.invalid", &packet.Config{
		Algorithm: packet.PubKeyAlgoEdDSA, Curve: packet.Curve25519,
		Time: func() time.Time { return made }, KeyLifetimeSecs: 24 * 3600,
	}); err != nil {
		return nil, err
	}
	return &k, nil
})

func keys(t testing.TB) *testKeys {
	t.Helper()
	k, err := keysOnce()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// publicOnly returns the keyring a verifier holds: the public halves, as
// serialized and read back.
func publicOnly(t testing.TB, es ...*openpgp.Entity) openpgp.EntityList {
	t.Helper()
	var buf bytes.Buffer
	for _, e := range es {
		if err := e.Serialize(&buf); err != nil {
			t.Fatal(err)
		}
	}
	kr, err := openpgp.ReadKeyRing(&buf)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// clearsignWith signs body with each signer, the way dak signs InRelease.
func clearsignWith(t testing.TB, body []byte, signers ...*openpgp.Entity) []byte {
	t.Helper()
	var privs []*packet.PrivateKey
	var newest time.Time
	for _, e := range signers {
		privs = append(privs, e.PrivateKey)
		if c := e.PrimaryKey.CreationTime; c.After(newest) {
			newest = c
		}
	}
	// Keys made long ago (the expired one) sign at a time they were valid,
	// so that only their expiry can make the signature fail.
	signedAt := time.Now()
	if newest.Before(signedAt.Add(-time.Hour)) {
		signedAt = newest.Add(time.Minute)
	}
	var out bytes.Buffer
	w, err := clearsign.EncodeMulti(&out, privs, &packet.Config{DefaultHash: crypto.SHA512, Time: func() time.Time { return signedAt }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(body); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// clearsignSHA1 makes what clearsign refuses to: a clearsigned message
// whose signature uses SHA-1, signed over the same canonical text.
func clearsignSHA1(t testing.TB, body []byte, e *openpgp.Entity) []byte {
	t.Helper()
	signed := bytes.ReplaceAll(bytes.TrimSuffix(body, []byte("\n")), []byte("\n"), []byte("\r\n"))
	var out bytes.Buffer
	out.WriteString("-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA1\n\n")
	out.Write(body)
	w, err := armor.Encode(&out, openpgp.SignatureType, nil)
	if err != nil {
		t.Fatal(err)
	}
	// go-crypto will not sign with SHA-1 through its high-level API.
	sig := &packet.Signature{
		Version: 4, SigType: packet.SigTypeBinary, PubKeyAlgo: e.PrivateKey.PubKeyAlgo,
		Hash: crypto.SHA1, CreationTime: time.Now(), IssuerKeyId: &e.PrivateKey.KeyId,
	}
	h := sha1.New()
	h.Write(signed)
	noSalt := false // the salt notation needs a hash with a defined salt length
	if err := sig.Sign(h, e.PrivateKey, &packet.Config{NonDeterministicSignaturesViaNotation: &noSalt}); err != nil {
		t.Fatal(err)
	}
	if err := sig.Serialize(w); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	out.WriteString("\n")
	return out.Bytes()
}

// suite describes one suite the test mirror serves.
type suite struct {
	name       string // as requested: bookworm, bookworm-updates, …
	codename   string // Codename field; defaults to name
	packages   string // the uncompressed main/binary-amd64/Packages
	noByHash   bool
	noXZ       bool // list and serve only Packages.gz
	wrongPlain bool // list a wrong sha256 for the uncompressed Packages
	validUntil time.Time
	signers    []*openpgp.Entity
	hash       crypto.Hash // crypto.SHA1 for a weak signature; else SHA512
}

// mirror is an archive on 127.0.0.1 serving /debian and /debian-security.
type mirror struct {
	srv   *httptest.Server
	mu    sync.Mutex
	files map[string][]byte
	fail  map[string]int // path → how many 503s to answer before serving it
	got   []string       // paths requested, in order
}

func newMirror(t testing.TB) *mirror {
	m := &mirror{files: map[string][]byte{}, fail: map[string]int{}}
	m.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.mu.Lock()
		m.got = append(m.got, r.URL.Path)
		if m.fail[r.URL.Path] > 0 {
			m.fail[r.URL.Path]--
			m.mu.Unlock()
			http.Error(w, "try later", http.StatusServiceUnavailable)
			return
		}
		b, ok := m.files[r.URL.Path]
		m.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(b)
	}))
	t.Cleanup(m.srv.Close)
	return m
}

func (m *mirror) archive(keyring openpgp.EntityList) *Archive {
	return &Archive{
		Mirror:         m.srv.URL + "/debian",
		SecurityMirror: m.srv.URL + "/debian-security/",
		Keyring:        keyring,
		Client:         m.srv.Client(),
	}
}

func (m *mirror) requested(p string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, g := range m.got {
		if g == p {
			n++
		}
	}
	return n
}

func (m *mirror) edit(t testing.TB, p string, f func([]byte) []byte) {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.files[p]
	if !ok {
		t.Fatalf("mirror has no %s", p)
	}
	m.files[p] = f(bytes.Clone(b))
}

// replace changes the file at p and every other name it is served under
// (its by-hash path) to what f makes of it, deleting it when f returns
// nil. It returns the sha256 before and after.
func (m *mirror) replace(t testing.TB, p string, f func([]byte) []byte) (before, after string) {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	old, ok := m.files[p]
	if !ok {
		t.Fatalf("mirror has no %s", p)
	}
	nb := f(bytes.Clone(old))
	for q, b := range m.files {
		if bytes.Equal(b, old) {
			if nb == nil {
				delete(m.files, q)
			} else {
				m.files[q] = nb
			}
		}
	}
	return sum(old), sum(nb)
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// add publishes s under root ("/debian" or "/debian-security") and returns
// the dists/SUITE directory.
func (m *mirror) add(t testing.TB, root string, s suite) string {
	t.Helper()
	raw := []byte(s.packages)
	var xzb, gzb bytes.Buffer
	xw, err := xz.NewWriter(&xzb)
	if err != nil {
		t.Fatal(err)
	}
	xw.Write(raw)
	if err := xw.Close(); err != nil {
		t.Fatal(err)
	}
	gw := gzip.NewWriter(&gzb)
	gw.Write(raw)
	if err := gw.Close(); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{"Packages": raw, "Packages.gz": gzb.Bytes()}
	if !s.noXZ {
		files["Packages.xz"] = xzb.Bytes()
	}

	dir := root + "/dists/" + s.name
	codename := s.codename
	if codename == "" {
		codename = s.name
	}
	var rel strings.Builder
	fmt.Fprintf(&rel, "Origin: Debian\nLabel: Debian\nSuite: test-%s\nCodename: %s\n", s.name, codename)
	fmt.Fprintf(&rel, "Date: %s\n", time.Now().UTC().Format(time.RFC1123))
	if !s.validUntil.IsZero() {
		fmt.Fprintf(&rel, "Valid-Until: %s\n", s.validUntil.UTC().Format(time.RFC1123))
	}
	if !s.noByHash {
		rel.WriteString("Acquire-By-Hash: yes\n")
	}
	rel.WriteString("No-Support-for-Architecture-all: Packages\nArchitectures: all amd64 arm64\nComponents: main\nDescription: test\nSHA256:\n")
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, n := range []string{"Packages", "Packages.gz", "Packages.xz"} {
		b, ok := files[n]
		if !ok {
			continue
		}
		p := "main/binary-amd64/" + n
		h := sum(b)
		if n == "Packages" && s.wrongPlain {
			h = sum([]byte("wrong"))
		}
		fmt.Fprintf(&rel, " %s %8d %s\n", h, len(b), p)
		if n != "Packages" { // like deb.debian.org: only compressed indexes are served
			m.files[dir+"/"+p] = b
			m.files[dir+"/"+path.Dir(p)+"/by-hash/SHA256/"+sum(b)] = b
		}
	}
	switch s.hash {
	case crypto.SHA1:
		m.files[dir+"/InRelease"] = clearsignSHA1(t, []byte(rel.String()), s.signers[0])
	default:
		m.files[dir+"/InRelease"] = clearsignWith(t, []byte(rel.String()), s.signers...)
	}
	return dir
}

// standard publishes bookworm, bookworm-updates and bookworm-security
// signed by signers, with the packages the index tests expect.
func (m *mirror) standard(t testing.TB, signers ...*openpgp.Entity) {
	t.Helper()
	m.add(t, "/debian", suite{name: "bookworm", signers: signers, packages: bookwormPackages})
	m.add(t, "/debian", suite{name: "bookworm-updates", signers: signers, packages: updatesPackages})
	m.add(t, "/debian-security", suite{name: "bookworm-security", signers: signers, packages: securityPackages,
		validUntil: time.Now().Add(7 * 24 * time.Hour)})
}

const stanza = `Package: %s
Version: %s
Architecture: %s
Priority: optional
Provides: %s
Depends: libc6 (>= 2.34)
Filename: pool/main/%c/%s/%s_%s_%s.deb
Size: 1000
SHA256: %s
`

func pkg(name, version, arch, provides string) string {
	s := fmt.Sprintf(stanza, name, version, arch, provides, name[0], name, name, version, arch, sum([]byte(name+version+arch)))
	if provides == "" {
		s = strings.Replace(s, "Provides: \n", "", 1)
	}
	return s + "\n"
}

var (
	bookwormPackages = pkg("libc6", "2.36-9+deb12u7", "amd64", "") +
		pkg("openssl", "3.0.15-1~deb12u1", "amd64", "") +
		pkg("mawk", "1.3.4.20200120-3.1", "amd64", "awk") +
		pkg("gawk", "1:5.2.1-2", "amd64", "awk") +
		pkg("tzdata", "2024a-0+deb12u1", "all", "tzdata-bookworm") +
		pkg("libc6", "2.36-9+deb12u7", "arm64", "") + // not for amd64: filtered out
		pkg("python3-minimal", "3.11.2-1+b1", "amd64", "python3-profiler, python3-supported-max (= 3.11)")
	updatesPackages = pkg("tzdata", "2025b-0+deb12u1", "all", "tzdata-bookworm")
	// openssl's security update, and libc6 at a version bookworm also has.
	securityPackages = pkg("openssl", "3.0.17-1~deb12u2", "amd64", "") +
		pkg("libc6", "2.36-9+deb12u7", "amd64", "") +
		pkg("openssl", "3.0.11-1~deb12u2", "amd64", "")
)
