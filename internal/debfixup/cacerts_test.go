package debfixup

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/kiln-build/kiln/internal/layer"
)

// The conf, bundle, .pem links and hash links are what ca-certificates' own
// update-ca-certificates (with the host's openssl rehash) makes from the
// same conf.
func TestCACertificatesMatchesUpdateCACertificates(t *testing.T) {
	need(t, "openssl", "sh", "sed", "find", "mktemp", "readlink")
	root := unpack(t, "ca-certificates")
	tree := treeOf(t, root)
	r := apply(t, tree, nil, []string{"ca-certificates"}, Options{})
	if len(r.Applied) != 1 || !strings.HasPrefix(r.Applied[0], "ca-certificates:") {
		t.Errorf("Applied = %q", r.Applied)
	}

	// The conf lists every shipped certificate, in byte order, after the header.
	var want []string
	share := filepath.Join(root, "usr/share/ca-certificates")
	filepath.WalkDir(share, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".crt") {
			rel, _ := filepath.Rel(share, p)
			want = append(want, rel)
		}
		return err
	})
	sort.Strings(want)
	conf := file(t, tree, "etc/ca-certificates.conf")
	if body, ok := strings.CutPrefix(string(conf), confHeader); !ok || body != strings.Join(want, "\n")+"\n" {
		t.Errorf("ca-certificates.conf:\n%s", conf)
	}

	// Run the real script on the same conf.
	if err := os.WriteFile(filepath.Join(root, "etc/ca-certificates.conf"), conf, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sh", filepath.Join(root, "usr/sbin/update-ca-certificates"), "--sysroot", root, "--hooksdir", "")
	cmd.Env = append(os.Environ(), "TMPDIR="+t.TempDir(), "LC_ALL=C")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("update-ca-certificates: %v\n%s", err, out)
	}
	certs := filepath.Join(root, "etc/ssl/certs")
	names, err := os.ReadDir(certs)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, e := range tree.Entries() {
		if name, ok := strings.CutPrefix(e.Path, "etc/ssl/certs/"); ok {
			got[name] = true
		}
	}
	hashLinks := 0
	for _, n := range names {
		p := filepath.Join(certs, n.Name())
		tp := "etc/ssl/certs/" + n.Name()
		delete(got, n.Name())
		if n.Type()&os.ModeSymlink == 0 {
			if !bytes.Equal(file(t, tree, tp), read(t, p)) {
				t.Errorf("%s differs from update-ca-certificates' file", tp)
			}
			continue
		}
		target, _ := os.Readlink(p)
		if strings.HasSuffix(n.Name(), ".pem") {
			target = strings.TrimPrefix(target, root+"/") // --sysroot prefixes the targets
		} else {
			hashLinks++
		}
		if l := link(t, tree, tp); l != target {
			t.Errorf("%s -> %s, update-ca-certificates made -> %s", tp, l, target)
		}
	}
	for name := range got {
		t.Errorf("etc/ssl/certs/%s: update-ca-certificates does not make it", name)
	}
	if hashLinks < len(want) {
		t.Errorf("%d hash links for %d certificates", hashLinks, len(want))
	}
}

func testCertPEM(t *testing.T, cn string) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Unix(0, 0), NotAfter: time.Unix(1<<31, 0), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// A package that adds a certificate to a base that has ca-certificates
// fires the trigger: the base's conf and selections are kept, the new
// certificate is trusted and bundled.
func TestCACertificatesTrigger(t *testing.T) {
	base := layer.NewTree()
	ca1, ca2, local := testCertPEM(t, "One"), testCertPEM(t, "Two"), testCertPEM(t, "Local CA")
	for p, data := range map[string][]byte{
		"usr/share/ca-certificates/test/one.crt": ca1,
		"usr/share/ca-certificates/test/two.crt": ca2,
		"usr/sbin/update-ca-certificates":        []byte("#!/bin/sh\n"),
		"etc/ca-certificates.conf":               []byte("# mine\n!test/two.crt\ntest/one.crt\n"),
	} {
		if err := base.AddFile(p, 0o644, data); err != nil {
			t.Fatal(err)
		}
	}
	tree := layer.NewTree()
	if err := tree.AddFile("usr/share/ca-certificates/test/three.crt", 0o644, bytes.TrimSuffix(ca1, []byte("\n"))); err != nil {
		t.Fatal(err)
	}
	if err := tree.AddFile("usr/local/share/ca-certificates/local.crt", 0o644, local); err != nil {
		t.Fatal(err)
	}
	apply(t, tree, TreeFiles(base), []string{"ca-certificates"}, Options{})
	if got := string(file(t, tree, "etc/ca-certificates.conf")); got != "# mine\n!test/two.crt\ntest/one.crt\ntest/three.crt\n" {
		t.Errorf("conf:\n%s", got)
	}
	want := string(ca1) + string(ca1) + string(local) // three.crt lacked its final newline
	if got := string(file(t, tree, "etc/ssl/certs/ca-certificates.crt")); got != want {
		t.Errorf("bundle:\n%s", got)
	}
	if l := link(t, tree, "etc/ssl/certs/local.pem"); l != "/usr/local/share/ca-certificates/local.crt" {
		t.Errorf("local.pem -> %s", l)
	}
	absent(t, tree, "etc/ssl/certs/two.pem", "usr/local/share/ca-certificates/.keep")
	// one.crt and three.crt hold the same certificate: one hash link.
	h, err := nameHash(pemCert(t, writeTemp(t, ca1)).RawSubject)
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("%08x", h)
	if l := link(t, tree, "etc/ssl/certs/"+name+".0"); l != "one.pem" {
		t.Errorf("%s.0 -> %s", name, l)
	}
	absent(t, tree, "etc/ssl/certs/"+name+".1")
}

func writeTemp(t *testing.T, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "f.pem")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// Without ca-certificates installed, certificates in the tree are data.
func TestCACertificatesOnlyWhenInstalled(t *testing.T) {
	tree := layer.NewTree()
	if err := tree.AddFile("usr/share/ca-certificates/x/a.crt", 0o644, testCertPEM(t, "A")); err != nil {
		t.Fatal(err)
	}
	r := apply(t, tree, nil, []string{"openssl"}, Options{})
	absent(t, tree, "etc/ca-certificates.conf", "etc/ssl/certs/ca-certificates.crt")
	if len(r.Applied) != 0 {
		t.Errorf("Applied = %q", r.Applied)
	}
}

func TestPEMName(t *testing.T) {
	for in, want := range map[string]string{
		"/usr/share/ca-certificates/mozilla/NetLock_Arany_=Class_Gold=_Főtanúsítvány.crt": "NetLock_Arany_=Class_Gold=_Főtanúsítvány.pem",
		"/usr/local/share/ca-certificates/My CA (test), v2.crt":                           "My_CA_=test=__v2.pem",
		"/x/.crt": ".crt.pem",
	} {
		if got := pemName(in); got != want {
			t.Errorf("pemName(%q) = %q, want %q", in, got, want)
		}
	}
}
