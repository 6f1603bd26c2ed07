// Package verify holds the static checks of `kiln verify`: properties of an
// image that can be proven from its config, manifest and layers alone,
// without starting a container.
package verify

import (
	"fmt"
	"path"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Severity says what a check's findings do to the result.
type Severity string

const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
	SeverityOff     Severity = "off"
)

// Statuses of a Result.
const (
	StatusPass = "pass"
	StatusFail = "fail"
	StatusWarn = "warn"
	StatusSkip = "skip"
)

// Result is the outcome of one check.
type Result struct {
	Check  string `json:"check"`
	Status string `json:"status"`
	Detail string `json:"detail"`
}

// Config holds budgets, severities and accepted exceptions. Its zero value
// gives the defaults.
type Config struct {
	// MaxImageBytes is the budget for the total uncompressed size of the
	// layers; 0 means none.
	MaxImageBytes int64
	// MaxWastedBytes is the budget for bytes of files overwritten or deleted
	// by later layers. When 0, 50 MiB applies and exceeding it only warns.
	MaxWastedBytes int64
	// Severity overrides the default severity of a check by name.
	Severity map[string]Severity
	// Allow lists accepted findings as "check:subject", where subject is a
	// path (relative or absolute, may be a path.Match pattern) or a name.
	Allow []string
	// DevPackages are more distribution names, such as the project's dev
	// group, that must not be installed.
	DevPackages []string
}

const defaultMaxWasted = 50 << 20

// defaultSeverity is error for every check not listed.
var defaultSeverity = map[string]Severity{
	"healthcheck": SeverityWarning,
}

// finding is one problem found by a check.
type finding struct {
	// subjects are what an Allow entry may name: paths and names.
	subjects []string
	msg      string
	// warn marks a finding that warns even when the check's severity is
	// error.
	warn bool
}

// outcome is what a check function returns: its findings, or when there are
// none, a detail for the pass; skip marks a check that does not apply.
type outcome struct {
	findings []finding
	detail   string
	skip     bool
}

// Static runs every check that needs no engine on img and returns one Result
// per check, sorted by check name. It returns an error only when the image
// cannot be read.
func Static(img v1.Image, cfg Config) ([]Result, error) {
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("verify: reading image config: %w", err)
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, fmt.Errorf("verify: reading image manifest: %w", err)
	}
	s, err := scan(img)
	if err != nil {
		return nil, err
	}
	user := runtimeUser(cf.Config.User, s)
	outs := map[string]outcome{
		"non-root":         checkNonRoot(user),
		"command":          checkCommand(cf.Config),
		"healthcheck":      checkHealthcheck(cf.Config),
		"dev-packages":     checkDevPackages(s, cfg.DevPackages),
		"toolchain":        checkToolchain(s),
		"secrets":          checkSecrets(s, cf),
		"base-pinned":      checkBasePinned(m, cf.Config),
		"size":             checkSize(s, cfg),
		"writable-app":     checkWritableApp(s, cf.Config.WorkingDir, user),
		"shared-libraries": {},
	}
	if outs["shared-libraries"], err = checkSharedLibraries(s); err != nil {
		return nil, err
	}
	out := make([]Result, 0, len(outs))
	for name, o := range outs {
		out = append(out, result(name, o, cfg))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Check < out[j].Check })
	return out, nil
}

// result turns a check's outcome into a Result under cfg.
func result(name string, o outcome, cfg Config) Result {
	sev, ok := cfg.Severity[name]
	if !ok {
		sev = defaultSeverity[name]
		if sev == "" {
			sev = SeverityError
		}
	}
	if sev == SeverityOff {
		return Result{Check: name, Status: StatusSkip, Detail: "disabled by config"}
	}
	if o.skip {
		return Result{Check: name, Status: StatusSkip, Detail: o.detail}
	}
	var msgs []string
	hard := false
	for _, f := range o.findings {
		if allowed(name, f, cfg.Allow) {
			continue
		}
		msgs = append(msgs, f.msg)
		hard = hard || !f.warn
	}
	switch {
	case len(msgs) == 0:
		return Result{Check: name, Status: StatusPass, Detail: o.detail}
	case hard && sev == SeverityError:
		return Result{Check: name, Status: StatusFail, Detail: strings.Join(msgs, "; ")}
	default:
		return Result{Check: name, Status: StatusWarn, Detail: strings.Join(msgs, "; ")}
	}
}

// allowed reports whether an Allow entry for check names one of f's subjects.
func allowed(check string, f finding, allow []string) bool {
	for _, a := range allow {
		c, pat, ok := strings.Cut(a, ":")
		if !ok || c != check {
			continue
		}
		pat = strings.TrimPrefix(pat, "/")
		for _, s := range f.subjects {
			s = strings.TrimPrefix(s, "/")
			if s == pat {
				return true
			}
			if m, err := path.Match(pat, s); err == nil && m {
				return true
			}
		}
	}
	return false
}
