package debarchive

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

func TestDefaultKeyring(t *testing.T) {
	kr, err := DefaultKeyring()
	if err != nil {
		t.Fatal(err)
	}
	algos := map[packet.PublicKeyAlgorithm]int{}
	var names []string
	for _, e := range kr {
		algos[e.PrimaryKey.PubKeyAlgo]++
		names = append(names, e.PrimaryIdentity().Name)
	}
	all := strings.Join(names, "\n")
	for _, want := range []string{
		"Debian Archive Automatic Signing Key (11/bullseye)",
		"Debian Archive Automatic Signing Key (12/bookworm)",
		"Debian Security Archive Automatic Signing Key (12/bookworm)",
		"Debian Stable Release Key (12/bookworm)",
		"Debian Archive Automatic Signing Key (13/trixie)",
		"Debian Security Archive Automatic Signing Key (13/trixie)",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("embedded keyring lacks %q; it has:\n%s", want, all)
		}
	}
	if algos[packet.PubKeyAlgoRSA] == 0 || algos[packet.PubKeyAlgoEdDSA] == 0 {
		t.Errorf("embedded keyring algorithms %v, want RSA and EdDSA", algos)
	}
}

// realInRelease is bookworm's InRelease as deb.debian.org served it on
// 2026-11-25, signed by the bookworm and trixie archive keys (RSA) and the
// bookworm stable release key (Ed25519).
func realInRelease(t *testing.T) ([]byte, time.Time) {
	t.Helper()
	data, err := os.ReadFile("testdata/bookworm.InRelease")
	if err != nil {
		t.Fatal(err)
	}
	date, err := time.Parse(time.RFC1123, "Sat, 11 Jul 2026 10:16:37 UTC")
	if err != nil {
		t.Fatal(err)
	}
	return data, date
}

func filterKeys(t *testing.T, keep func(e *openpgp.Entity) bool) openpgp.EntityList {
	t.Helper()
	kr, err := DefaultKeyring()
	if err != nil {
		t.Fatal(err)
	}
	var out openpgp.EntityList
	for _, e := range kr {
		if keep(e) {
			out = append(out, e)
		}
	}
	if len(out) == 0 {
		t.Fatal("no key kept")
	}
	return out
}

func TestRealInRelease(t *testing.T) {
	data, date := realInRelease(t)
	now := date.Add(time.Hour)
	for name, kr := range map[string]openpgp.EntityList{
		"Ed25519 only": filterKeys(t, func(e *openpgp.Entity) bool { return e.PrimaryKey.PubKeyAlgo == packet.PubKeyAlgoEdDSA }),
		"RSA only":     filterKeys(t, func(e *openpgp.Entity) bool { return e.PrimaryKey.PubKeyAlgo == packet.PubKeyAlgoRSA }),
		"trixie only": filterKeys(t, func(e *openpgp.Entity) bool {
			return strings.Contains(e.PrimaryIdentity().Name, "13/trixie") && e.PrimaryKey.PubKeyAlgo == packet.PubKeyAlgoRSA
		}),
	} {
		t.Run(name, func(t *testing.T) {
			body, err := verifyClearsigned(data, kr, now)
			if err != nil {
				t.Fatal(err)
			}
			rel, err := parseRelease(body)
			if err != nil {
				t.Fatal(err)
			}
			if rel.Codename != "bookworm" || rel.Suite != "oldstable" || rel.Version != "12.15" || !rel.AcquireByHash || !rel.archAllInArch {
				t.Errorf("release = %+v", rel)
			}
			if !rel.Date.Equal(date) || !rel.ValidUntil.IsZero() {
				t.Errorf("Date %v Valid-Until %v", rel.Date, rel.ValidUntil)
			}
			// From the SHA256 list, not the MD5Sum one above it.
			want := File{SHA256: "9e0b5aabb2465b3d2e7a7fe27f9913846277833f7a2826e7767acccff5b588c5", Size: 8790396}
			if got := rel.Files["main/binary-amd64/Packages.xz"]; got != want {
				t.Errorf("main/binary-amd64/Packages.xz = %+v, want %+v", got, want)
			}
		})
	}

	// Keys that did not sign it: bullseye's.
	bullseye := filterKeys(t, func(e *openpgp.Entity) bool { return strings.Contains(e.PrimaryIdentity().Name, "bullseye") })
	_, err := verifyClearsigned(data, bullseye, now)
	if err == nil || !strings.Contains(err.Error(), "no valid signature from a trusted key: signed by ") {
		t.Errorf("bullseye keys: %v", err)
	}

	// In 2040 every key that signed it has expired.
	all, _ := DefaultKeyring()
	_, err = verifyClearsigned(data, all, time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC))
	if err == nil || !strings.Contains(err.Error(), "expired") {
		t.Errorf("verified with expired keys: %v", err)
	}

	// One changed byte of the signed text.
	tampered := []byte(strings.Replace(string(data), "Version: 12.15", "Version: 12.16", 1))
	_, err = verifyClearsigned(tampered, all, now)
	if err == nil || !strings.Contains(err.Error(), "invalid signature") {
		t.Errorf("tampered: %v", err)
	}
}

// FuzzVerifyInRelease feeds mangled InRelease files to the verifier: none
// may panic, and any it accepts must yield exactly the text that was signed.
func FuzzVerifyInRelease(f *testing.F) {
	// Ed25519 only: each fuzz worker makes its own keys, and RSA ones take seconds.
	newKey := func(name string) *openpgp.Entity {
		e, err := openpgp.NewEntity(name, "", "", &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA, Curve: packet.Curve25519})
		if err != nil {
			f.Fatal(err)
		}
		return e
	}
	trusted, other := newKey("trusted"), newKey("other")
	signed := clearsignWith(f, []byte(sampleRelease), other, trusted)
	f.Add(signed)
	f.Add(signed[:len(signed)/2])
	f.Add(clearsignWith(f, []byte(sampleRelease), other))
	f.Add([]byte("-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n- -x\n-----BEGIN PGP SIGNATURE-----\n\n-----END PGP SIGNATURE-----\n"))
	kr := publicOnly(f, trusted)
	want := sampleRelease // clearsign adds a line end; Decode drops the last
	now := time.Now()
	f.Fuzz(func(t *testing.T, data []byte) {
		body, err := verifyClearsigned(data, kr, now)
		if err != nil {
			return
		}
		if string(body) != want {
			t.Fatalf("accepted a body that was not signed:\n%s", body)
		}
		if _, err := parseRelease(body); err != nil {
			t.Fatal(err)
		}
	})
}
