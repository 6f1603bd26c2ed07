package debarchive

import (
	"strings"
	"testing"
	"time"
)

const sampleRelease = `Origin: Debian
Label: Debian-Security
Suite: oldstable-security
Version: 12
Codename: bookworm-security
Date: Tue, 24 Nov 2026 18:21:03 UTC
Valid-Until: Tue, 01 Dec 2026 18:21:03 UTC
Acquire-By-Hash: yes
Architectures: amd64 arm64
Components: updates/main
MD5Sum:
 0ed6d4c8891eb86358b94bb35d9e4da4  1484322 main/binary-amd64/Packages.xz
SHA256:
 ae1d2bf5e3e0b1d6aef4b4a3c9f6c2d3e3d8f0c5b1a2a3a4a5a6a7a8a9aaabac   125321 main/binary-amd64/Packages.xz
 1d2bf5e3e0b1d6aef4b4a3c9f6c2d3e3d8f0c5b1a2a3a4a5a6a7a8a9aaabacad   150000 main/binary-amd64/Packages.gz
`

func TestParseRelease(t *testing.T) {
	r, err := parseRelease([]byte(sampleRelease))
	if err != nil {
		t.Fatal(err)
	}
	if !r.matches("bookworm-security") || !r.matches("oldstable-security") || r.matches("bookworm") {
		t.Errorf("Codename %q Suite %q", r.Codename, r.Suite)
	}
	if want := time.Date(2026, 12, 1, 18, 21, 3, 0, time.UTC); !r.ValidUntil.Equal(want) {
		t.Errorf("Valid-Until = %v, want %v", r.ValidUntil, want)
	}
	if r.archAllInArch {
		t.Error("No-Support-for-Architecture-all is absent, yet archAllInArch is set")
	}
	if len(r.Files) != 2 || r.Files["main/binary-amd64/Packages.xz"].Size != 125321 {
		t.Errorf("Files = %v", r.Files)
	}

	const xzLine = "ae1d2bf5e3e0b1d6aef4b4a3c9f6c2d3e3d8f0c5b1a2a3a4a5a6a7a8a9aaabac   125321 main/binary-amd64/Packages.xz"
	replace := func(old, new string) string { return strings.Replace(sampleRelease, old, new, 1) }
	for _, tc := range []struct{ release, want string }{
		{replace(xzLine, "ae1d2bf5e3e0 125321 main/binary-amd64/Packages.xz"), "\"ae1d2bf5e3e0\" is not a sha256"},
		{replace("   125321 ", "   -1 "), "\"-1\" is not a size"},
		{replace(xzLine, xzLine+" extra"), "want \"hash size path\""},
		{sampleRelease[:strings.Index(sampleRelease, "SHA256:")], "has no SHA256 list"},
		{replace("Valid-Until: Tue, 01 Dec 2026 18:21:03 UTC", "Valid-Until: next week"), "Valid-Until: \"next week\" is not an RFC 2822 date"},
		{replace("Date: Tue, 24 Nov 2026 18:21:03 UTC", "Date: 2026-11-24"), "Date: \"2026-11-24\" is not an RFC 2822 date"},
		{replace("Codename: bookworm-security\n", "Codename: bookworm-security\n\n"), "has 2 paragraphs"},
		{replace("Suite: oldstable-security\nVersion: 12\nCodename: bookworm-security\n", ""), "has neither Suite nor Codename"},
	} {
		_, err := parseRelease([]byte(tc.release))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("err = %v, want %q", err, tc.want)
		}
	}

	// Two different hashes for one file cannot both be right.
	dup := sampleRelease + " 2d2bf5e3e0b1d6aef4b4a3c9f6c2d3e3d8f0c5b1a2a3a4a5a6a7a8a9aaabacad   150000 main/binary-amd64/Packages.gz\n"
	if _, err := parseRelease([]byte(dup)); err == nil || !strings.Contains(err.Error(), "main/binary-amd64/Packages.gz twice") {
		t.Errorf("conflicting hashes: %v", err)
	}
}

func FuzzParseRelease(f *testing.F) {
	f.Add([]byte(sampleRelease))
	f.Add([]byte("Codename: x\nSHA256:\n"))
	f.Add([]byte("Codename: x\nSHA256: 0 0 x\n \n\t\n"))
	f.Add([]byte("Suite: x\nDate: Mon, 2 Jan 2006 15:04:05 -0700\nSHA256:\n " + strings.Repeat("a", 64) + " 0 a b\n"))
	f.Add([]byte("Codename: x\n\nCodename: y\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := parseRelease(data)
		if err != nil {
			return
		}
		if r.Suite == "" && r.Codename == "" {
			t.Fatal("accepted a release without Suite or Codename")
		}
		for p, f := range r.Files {
			if !sha256Hex.MatchString(f.SHA256) || f.Size < 0 || p == "" || strings.ContainsAny(p, " \t\n") {
				t.Fatalf("accepted entry %q %+v", p, f)
			}
		}
	})
}
