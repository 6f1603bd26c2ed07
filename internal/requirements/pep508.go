package requirements

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/kiln-build/kiln/internal/marker"
	"github.com/kiln-build/kiln/internal/pep440"
	"github.com/kiln-build/kiln/internal/pyname"
)

// nameRE is a PEP 508 project name (extras follow the same rule).
var nameRE = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$`)

// urlSchemeRE is what makes pip read a requirement, include or link as a URL.
var urlSchemeRE = regexp.MustCompile(`(?i)^(?:[a-z][a-z0-9+.-]*://|file:)`)

// archiveSuffixes make pip read a requirement as a file to install.
var archiveSuffixes = []string{".whl", ".zip", ".tar.gz", ".tgz", ".tar.bz2", ".tbz", ".tar.xz", ".txz", ".tar.lz", ".tlz", ".tar.lzma", ".tar"}

const notIndexed = "kiln installs wheels from indexes and --find-links only, by name, version and hash"

// parseRequirement reads the requirement part of a line,
// `name[extras] ==version ; marker`, into r. Errors describe the problem
// without quoting text that has not been validated: a line that fails here
// may come from a file that is not a requirements file at all, one `-r`
// away from a secret.
func parseRequirement(text string, r *Requirement) error {
	spec, markerText, _ := strings.Cut(text, ";")
	spec = strings.TrimFunc(spec, isSpace)
	markerText = strings.TrimFunc(markerText, isSpace)

	end := strings.IndexFunc(spec, func(c rune) bool {
		return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_')
	})
	if end < 0 {
		end = len(spec)
	}
	name := spec[:end]
	extras, rest, extrasErr := parseExtras(strings.TrimLeftFunc(spec[end:], isSpace))
	switch {
	case nameRE.MatchString(name) && extrasErr == nil && strings.HasPrefix(rest, "@"):
		return fmt.Errorf("%s: a direct URL requirement: %s", pyname.Normalize(name), notIndexed)
	case urlSchemeRE.MatchString(spec), strings.HasPrefix(spec, "."), strings.HasPrefix(spec, "~"),
		strings.ContainsAny(spec, `/\`), hasArchiveSuffix(spec):
		return errors.New("a path or URL requirement: " + notIndexed)
	case name == "":
		return errors.New("expected a project name at the start of the requirement")
	case !nameRE.MatchString(name):
		return errors.New("invalid project name: names start and end with a letter or digit")
	}
	r.Name = pyname.Normalize(name)
	if extrasErr != nil {
		return fmt.Errorf("%s: %w", r.Name, extrasErr)
	}
	r.Extras = extras
	if strings.HasPrefix(rest, "(") {
		if !strings.HasSuffix(rest, ")") {
			return fmt.Errorf("%s: unclosed ( around the version", r.Name)
		}
		rest = strings.TrimFunc(rest[1:len(rest)-1], isSpace)
	}
	if err := pin(rest, r); err != nil {
		return err
	}

	if markerText != "" {
		if _, err := marker.Parse(markerText); err != nil {
			return fmt.Errorf("%s==%s: %w", r.Name, r.Version, err)
		}
		r.Marker = markerText
	}
	return nil
}

// pin sets r.Version from a specifier set that must be a single == (no
// wildcard) or === clause.
func pin(set string, r *Requirement) error {
	const locked = "kiln installs a locked set and does not resolve: pin it as NAME==VERSION with its --hash lines (pip-compile --generate-hashes, uv pip compile --generate-hashes or uv export write such files)"
	if set == "" {
		return fmt.Errorf("%s: no version: %s", r.Name, locked)
	}
	var specs []pep440.Specifier
	for _, clause := range strings.Split(set, ",") {
		s, err := pep440.ParseSpecifier(clause)
		if err != nil {
			return fmt.Errorf("%s: invalid version specifier", r.Name)
		}
		specs = append(specs, s)
	}
	text := specs[0].String()
	if len(specs) == 1 {
		switch {
		case strings.HasPrefix(text, "==="):
			r.Version = strings.TrimFunc(text[3:], isSpace)
			return nil
		case strings.HasPrefix(text, "==") && !strings.HasSuffix(text, ".*"):
			r.Version = strings.TrimFunc(text[2:], isSpace)
			return nil
		}
	}
	written := make([]string, len(specs))
	for i, s := range specs {
		written[i] = s.String()
	}
	return fmt.Errorf("%s%s is a range, not a pin: %s", r.Name, strings.Join(written, ","), locked)
}

func hasArchiveSuffix(s string) bool {
	lower := strings.ToLower(s)
	for _, suffix := range archiveSuffixes {
		if strings.HasSuffix(lower, suffix) {
			return true
		}
	}
	return false
}

// parseHash reads a --hash value, "sha256:<hex>", into kiln's spelling with
// the digest lowercased (pip compares against hexdigest(), which is).
func parseHash(v string) (string, error) {
	algo, digest, ok := strings.Cut(v, ":")
	switch {
	case !ok:
		return "", errors.New("--hash wants ALGORITHM:DIGEST, like --hash=sha256:<64 hex digits>")
	case algo == "sha384" || algo == "sha512":
		return "", fmt.Errorf("--hash=%s:…: kiln checks sha256 digests, the ones pip-compile and uv write and indexes publish", algo)
	case algo != "sha256":
		return "", errors.New("--hash: pip and kiln accept only strong hashes, and kiln checks sha256")
	case len(digest) != 64 || strings.Trim(strings.ToLower(digest), "0123456789abcdef") != "":
		return "", errors.New("--hash=sha256:…: the digest is not 64 hex digits")
	}
	return "sha256:" + strings.ToLower(digest), nil
}

// parseExtras reads an optional `[a, b]` and returns the normalised extras
// and the text after it, left-trimmed.
func parseExtras(s string) (extras []string, rest string, err error) {
	if !strings.HasPrefix(s, "[") {
		return nil, s, nil
	}
	i := strings.IndexByte(s, ']')
	if i < 0 {
		return nil, "", errors.New("unclosed [ in the extras")
	}
	if list := strings.TrimFunc(s[1:i], isSpace); list != "" {
		for _, x := range strings.Split(list, ",") {
			x = strings.TrimFunc(x, isSpace)
			if !nameRE.MatchString(x) {
				return nil, "", errors.New("invalid extra name in [...]")
			}
			if x = pyname.Normalize(x); !slices.Contains(extras, x) {
				extras = append(extras, x)
			}
		}
	}
	return extras, strings.TrimLeftFunc(s[i+1:], isSpace), nil
}
