package pyindex

import (
	"strings"

	"github.com/kiln-build/kiln/internal/pep440"
	"github.com/kiln-build/kiln/internal/pyname"
	"github.com/kiln-build/kiln/internal/wheel"
)

// Pick returns, in their order, the wheels among files that are of name
// (compared normalised) at version (compared as PEP 440 ==, so 1.0 matches
// a wheel of 1.0.0) and whose sha256 is one of hashes ("sha256:<hex>" or
// bare hex; other algorithms are ignored, since kiln checks downloads by
// sha256). Files without a sha256 never match.
//
// name==version is an exact pin, the only way a hashed requirements file
// names a package, and PEP 592 lets an exact pin select a yanked file: so
// yanked files are returned too, with Yanked set for the caller to report.
// A caller resolving a range must drop them itself.
func Pick(files []File, name, version string, hashes []string) []File {
	allowed := map[string]bool{}
	for _, h := range hashes {
		algo, sum, ok := strings.Cut(h, ":")
		if !ok {
			algo, sum = "sha256", h
		}
		if strings.EqualFold(algo, "sha256") {
			allowed[strings.ToLower(strings.TrimSpace(sum))] = true
		}
	}
	want := pyname.Normalize(name)
	pin, err := pep440.ParseSpecifier("==" + version)
	if err != nil || strings.Contains(version, "*") {
		// Not a PEP 440 version (or a wildcard, which is no pin): only the
		// same text can match, as === does.
		pin, err = pep440.ParseSpecifier("===" + version)
	}
	var out []File
	for _, f := range files {
		sum := f.Hashes["sha256"]
		if sum == "" || !allowed[strings.ToLower(sum)] {
			continue
		}
		fn, perr := wheel.ParseFilename(f.Filename)
		if perr != nil || fn.NormalizedName() != want {
			continue
		}
		if err != nil || !pin.ContainsString(fn.Version) {
			continue
		}
		out = append(out, f)
	}
	return out
}
