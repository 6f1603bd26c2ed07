package debarchive

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/kiln-build/kiln/internal/deb"
)

// Release is the verified content of one suite's InRelease.
type Release struct {
	URL           string // the InRelease it was read from
	Mirror        string // archive root that the suite's Filename fields are relative to
	Suite         string // e.g. "oldstable", "bookworm-security"
	Codename      string // e.g. "bookworm"
	Version       string // e.g. "12.15"; empty for -updates
	Date          time.Time
	ValidUntil    time.Time // zero when the file does not expire
	AcquireByHash bool
	Architectures []string
	Components    []string
	// Files maps each index path (relative to dists/SUITE) to the size and
	// sha256 the signature vouches for.
	Files map[string]File
	// archAllInArch is set when arch:all packages are listed in each
	// binary-ARCH/Packages rather than in binary-all (No-Support-for-Architecture-all).
	archAllInArch bool
}

// File is one entry of a Release file's SHA256 list.
type File struct {
	SHA256 string
	Size   int64
}

var sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

// parseRelease reads the signed body of an InRelease. Only the SHA256 list
// is trusted for file hashes: MD5Sum and SHA1 are ignored.
func parseRelease(body []byte) (*Release, error) {
	paras, err := deb.ParseParagraphs(bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if len(paras) != 1 {
		return nil, fmt.Errorf("has %d paragraphs, want 1", len(paras))
	}
	p := paras[0]
	get := func(name string) string { v, _ := p.Get(name); return v }
	r := &Release{
		Suite:         get("Suite"),
		Codename:      get("Codename"),
		Version:       get("Version"),
		AcquireByHash: strings.EqualFold(get("Acquire-By-Hash"), "yes"),
		Architectures: strings.Fields(get("Architectures")),
		Components:    strings.Fields(get("Components")),
		Files:         map[string]File{},
	}
	if r.Suite == "" && r.Codename == "" {
		return nil, fmt.Errorf("has neither Suite nor Codename")
	}
	for _, f := range strings.Fields(get("No-Support-for-Architecture-all")) {
		if f == "Packages" {
			r.archAllInArch = true
		}
	}
	if s := get("Date"); s != "" {
		if r.Date, err = parseDate(s); err != nil {
			return nil, fmt.Errorf("field Date: %w", err)
		}
	}
	if s := get("Valid-Until"); s != "" {
		if r.ValidUntil, err = parseDate(s); err != nil {
			return nil, fmt.Errorf("field Valid-Until: %w", err)
		}
	}
	lines := p.Lines("SHA256")
	if len(lines) == 0 {
		return nil, fmt.Errorf("has no SHA256 list")
	}
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue // the field's value starts on the line after "SHA256:"
		}
		f := strings.Fields(l)
		if len(f) != 3 {
			return nil, fmt.Errorf("SHA256 line %q: want \"hash size path\"", l)
		}
		sum := strings.ToLower(f[0])
		if !sha256Hex.MatchString(sum) {
			return nil, fmt.Errorf("SHA256 line %q: %q is not a sha256", l, f[0])
		}
		size, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil || size < 0 {
			return nil, fmt.Errorf("SHA256 line %q: %q is not a size", l, f[1])
		}
		if prev, ok := r.Files[f[2]]; ok && prev != (File{sum, size}) {
			return nil, fmt.Errorf("SHA256 list gives %s twice, with different hashes", f[2])
		}
		r.Files[f[2]] = File{SHA256: sum, Size: size}
	}
	return r, nil
}

// Debian writes RFC 2822 dates in UTC ("Sat, 11 Jul 2026 10:16:37 UTC");
// the other layouts are ones apt also accepts.
var dateLayouts = []string{
	time.RFC1123,
	time.RFC1123Z,
	"Mon, 2 Jan 2006 15:04:05 MST",
	"Mon, 2 Jan 2006 15:04:05 -0700",
}

func parseDate(s string) (time.Time, error) {
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not an RFC 2822 date", s)
}

// matches reports whether the release is the suite that was asked for, by
// codename or by its suite alias ("stable", "oldstable-security").
func (r *Release) matches(suite string) bool {
	return suite == r.Codename || suite == r.Suite
}
