package debfixup

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// opensslHash runs `openssl x509 -hash` on a PEM certificate file.
func opensslHash(t *testing.T, file string) string {
	t.Helper()
	out, err := exec.Command("openssl", "x509", "-hash", "-noout", "-in", file).Output()
	if err != nil {
		t.Fatalf("openssl x509 -hash -in %s: %v", file, err)
	}
	return strings.TrimSpace(string(out))
}

func pemCert(t *testing.T, file string) *x509.Certificate {
	t.Helper()
	b, _ := pem.Decode(read(t, file))
	if b == nil {
		t.Fatalf("%s: no PEM block", file)
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return c
}

// Every certificate of Debian's Mozilla set hashes as OpenSSL hashes it.
func TestNameHashMozilla(t *testing.T) {
	need(t, "openssl")
	root := unpack(t, "ca-certificates")
	files, _ := filepath.Glob(filepath.Join(root, "usr/share/ca-certificates/mozilla/*.crt"))
	if len(files) < 100 {
		t.Fatalf("only %d certificates", len(files))
	}
	for _, f := range files {
		h, err := nameHash(pemCert(t, f).RawSubject)
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(f), err)
			continue
		}
		if got, want := fmt.Sprintf("%08x", h), opensslHash(t, f); got != want {
			t.Errorf("%s: hash %s, openssl says %s", filepath.Base(f), got, want)
		}
	}
}

type rawAttr struct {
	Type  asn1.ObjectIdentifier
	Value asn1.RawValue
}

type rawRDNSET []rawAttr

var (
	oidCN = asn1.ObjectIdentifier{2, 5, 4, 3}
	oidO  = asn1.ObjectIdentifier{2, 5, 4, 10}
	oidOU = asn1.ObjectIdentifier{2, 5, 4, 11}
	oidC  = asn1.ObjectIdentifier{2, 5, 4, 6}
	oidSN = asn1.ObjectIdentifier{2, 5, 4, 5}
)

func str(tag int, b []byte) asn1.RawValue { return asn1.RawValue{Tag: tag, Bytes: b} }

func ucs(width int, s string) []byte {
	var out []byte
	for _, r := range s {
		for i := width - 1; i >= 0; i-- {
			out = append(out, byte(uint32(r)>>(8*i)))
		}
	}
	return out
}

// The canonicalisation matches OpenSSL's for the string types, spacing,
// case and multi-valued RDNs that real names use.
func TestNameHashCanonicalisation(t *testing.T) {
	need(t, "openssl")
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string][]rawRDNSET{
		"empty":     {},
		"printable": {{{oidC, str(asn1.TagPrintableString, []byte("DE"))}}, {{oidCN, str(asn1.TagPrintableString, []byte("  Test   CA  Root "))}}},
		"utf8":      {{{oidCN, str(asn1.TagUTF8String, []byte("Főtanúsítvány ÉCOLE\t\tNetLock"))}}},
		"bmp":       {{{oidO, str(asn1.TagBMPString, ucs(2, " Ünïcode  BMP Org "))}}},
		"universal": {{{oidOU, str(28, ucs(4, "UNIVERSAL  ſtring"))}}},
		"t61":       {{{oidCN, str(asn1.TagT61String, []byte("Caf\xe9 \x0bT61 "))}}},
		"ia5":       {{{oidCN, str(asn1.TagIA5String, []byte("\tMail.Example.COM\n"))}}},
		"numeric":   {{{oidSN, str(asn1.TagNumericString, []byte("00 12  34"))}}},
		"multi":     {{{oidOU, str(asn1.TagUTF8String, []byte("Zeta Unit"))}, {oidCN, str(asn1.TagPrintableString, []byte("Alpha"))}}},
		"long":      {{{oidCN, str(asn1.TagUTF8String, []byte(strings.Repeat("Long Name ", 30)))}}},
		"blank":     {{{oidCN, str(asn1.TagUTF8String, []byte("   "))}}},
	}
	dir := t.TempDir()
	for name, rdns := range names {
		raw, err := asn1.Marshal(rdns)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), RawSubject: raw,
			NotBefore: time.Unix(0, 0), NotAfter: time.Unix(1<<31, 0)}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		f := filepath.Join(dir, name+".pem")
		if err := os.WriteFile(f, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
			t.Fatal(err)
		}
		h, err := nameHash(raw)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if got, want := fmt.Sprintf("%08x", h), opensslHash(t, f); got != want {
			t.Errorf("%s: hash %s, openssl says %s", name, got, want)
		}
	}
}

func TestCanonicalNameErrors(t *testing.T) {
	for name, raw := range map[string][]byte{
		"not DER":       {0x30, 0x05, 0x31},
		"trailing data": append(mustMarshal(t, []rawRDNSET{}), 0),
		"bad UTF-8":     mustMarshal(t, []rawRDNSET{{{oidCN, str(asn1.TagUTF8String, []byte{0xff})}}}),
		"odd BMP":       mustMarshal(t, []rawRDNSET{{{oidCN, str(asn1.TagBMPString, []byte{0, 'a', 0})}}}),
		"BMP surrogate": mustMarshal(t, []rawRDNSET{{{oidCN, str(asn1.TagBMPString, []byte{0xd8, 0})}}}),
	} {
		if _, err := nameHash(raw); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func mustMarshal(t testing.TB, v any) []byte {
	t.Helper()
	b, err := asn1.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzCanonicalName checks that canonicalisation never panics and is
// idempotent: a canonical name, wrapped back into a SEQUENCE, is its own
// canonical form.
func FuzzCanonicalName(f *testing.F) {
	f.Add(mustMarshal(f, []rawRDNSET{{{oidCN, str(asn1.TagPrintableString, []byte(" A  B "))}}}))
	f.Add(mustMarshal(f, []rawRDNSET{{{oidOU, str(asn1.TagBMPString, ucs(2, "Ab"))}, {oidCN, str(asn1.TagT61String, []byte("\xe9"))}}}))
	f.Add(mustMarshal(f, []rawRDNSET{}))
	f.Add([]byte{0x30, 0x02, 0x31, 0x00})
	f.Fuzz(func(t *testing.T, raw []byte) {
		c, err := canonicalName(raw)
		if err != nil {
			return
		}
		again, err := canonicalName(tlv(0x30, c))
		if err != nil {
			t.Fatalf("canonical form %x does not parse: %v", c, err)
		}
		if string(again) != string(c) {
			t.Fatalf("not idempotent: %x then %x", c, again)
		}
	})
}
