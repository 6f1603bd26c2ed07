package verify

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"
)

// Settings is a verify configuration file: the [tool.kiln.verify] table of
// a pyproject.toml, or the same keys at the top level of a file of its own.
type Settings struct {
	Static Config
	Run    RunConfig
}

// settingsWire is the file form of Settings.
type settingsWire struct {
	MaxImageSize any               `toml:"max-image-size"`
	MaxWasted    any               `toml:"max-wasted"`
	Severity     map[string]string `toml:"severity"`
	Allow        []string          `toml:"allow"`
	DevPackages  []string          `toml:"dev-packages"`
	Engine       string            `toml:"engine"`
	HealthPath   string            `toml:"health-path"`
	Port         int               `toml:"port"`
	RequiredEnv  []string          `toml:"required-env"`
	Commands     []string          `toml:"commands"`
	Grace        string            `toml:"grace"`
	Timeout      string            `toml:"timeout"`
}

// Checks lists every check by name: the static ones, then those of --run.
var Checks = []string{
	"base-pinned", "command", "dev-packages", "healthcheck", "non-root", "secrets",
	"shared-libraries", "size", "toolchain", "writable-app",
	"run-command", "run-health", "run-imports", "run-logs", "run-required-env", "run-sigterm", "run-user",
}

// LoadSettings reads a verify configuration file of its own (not a
// pyproject.toml, whose table comes through ParseSettings).
func LoadSettings(path string) (Settings, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Settings{}, err
	}
	s, err := decodeSettings(data)
	if err != nil {
		return Settings{}, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// ParseSettings reads an already decoded [tool.kiln.verify] table.
func ParseSettings(table map[string]any) (Settings, error) {
	data, err := toml.Marshal(table)
	if err != nil {
		return Settings{}, err
	}
	return decodeSettings(data)
}

func decodeSettings(data []byte) (Settings, error) {
	var w settingsWire
	dec := toml.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		var strict *toml.StrictMissingError
		if errors.As(err, &strict) {
			var keys []string
			for _, e := range strict.Errors {
				keys = append(keys, strings.Join(e.Key(), "."))
			}
			return Settings{}, fmt.Errorf("unknown key %s (known keys: max-image-size, max-wasted, severity, allow, dev-packages, engine, health-path, port, required-env, commands, grace, timeout)", strings.Join(keys, ", "))
		}
		var de *toml.DecodeError
		if errors.As(err, &de) {
			row, col := de.Position()
			return Settings{}, fmt.Errorf("line %d column %d: %s", row, col, de.Error())
		}
		return Settings{}, err
	}
	return w.settings()
}

func (w settingsWire) settings() (Settings, error) {
	var s Settings
	var err error
	if s.Static.MaxImageBytes, err = parseSize(w.MaxImageSize); err != nil {
		return Settings{}, fmt.Errorf("max-image-size: %w", err)
	}
	if s.Static.MaxWastedBytes, err = parseSize(w.MaxWasted); err != nil {
		return Settings{}, fmt.Errorf("max-wasted: %w", err)
	}
	names := make([]string, 0, len(w.Severity))
	for n := range w.Severity {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if !known(n) {
			return Settings{}, fmt.Errorf("severity: unknown check %q (checks: %s)", n, strings.Join(Checks, ", "))
		}
		sev := Severity(w.Severity[n])
		switch sev {
		case SeverityError, SeverityWarning, SeverityOff:
		default:
			return Settings{}, fmt.Errorf("severity.%s: %q is not one of error, warning, off", n, w.Severity[n])
		}
		if s.Static.Severity == nil {
			s.Static.Severity = map[string]Severity{}
		}
		s.Static.Severity[n] = sev
	}
	for _, a := range w.Allow {
		if err := ValidateAllow(a); err != nil {
			return Settings{}, fmt.Errorf("allow: %w", err)
		}
	}
	s.Static.Allow = w.Allow
	s.Static.DevPackages = w.DevPackages

	switch w.Engine {
	case "", "docker", "podman":
	default:
		return Settings{}, fmt.Errorf("engine: %q is not docker or podman", w.Engine)
	}
	if w.HealthPath != "" && !strings.HasPrefix(w.HealthPath, "/") {
		return Settings{}, fmt.Errorf("health-path: %q does not start with /", w.HealthPath)
	}
	if w.Port < 0 || w.Port > 65535 {
		return Settings{}, fmt.Errorf("port: %d is not 1-65535", w.Port)
	}
	for _, v := range w.RequiredEnv {
		if !envName.MatchString(v) {
			return Settings{}, fmt.Errorf("required-env: %q is not an environment variable name", v)
		}
	}
	s.Run = RunConfig{Engine: w.Engine, HealthPath: w.HealthPath, Port: w.Port, RequiredEnv: w.RequiredEnv, Commands: w.Commands}
	if s.Run.Grace, err = parseDuration(w.Grace); err != nil {
		return Settings{}, fmt.Errorf("grace: %w", err)
	}
	if s.Run.Timeout, err = parseDuration(w.Timeout); err != nil {
		return Settings{}, fmt.Errorf("timeout: %w", err)
	}
	return s, nil
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func known(check string) bool { return slices.Contains(Checks, check) }

// ValidateAllow checks an accepted exception, CHECK:SUBJECT.
func ValidateAllow(a string) error {
	check, subject, ok := strings.Cut(a, ":")
	if !ok || subject == "" {
		return fmt.Errorf("%q is not CHECK:SUBJECT", a)
	}
	if !known(check) {
		return fmt.Errorf("%q: unknown check %q (checks: %s)", a, check, strings.Join(Checks, ", "))
	}
	return nil
}

func parseDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q is not a positive duration such as 30s", s)
	}
	return d, nil
}

var sizeUnits = map[string]int64{
	"": 1, "b": 1,
	"kb": 1e3, "mb": 1e6, "gb": 1e9,
	"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30,
}

var sizePattern = regexp.MustCompile(`^\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*$`)

// parseSize reads a byte count: an integer, or a string such as "300 MiB"
// or "1.5GB". Absent is 0 (no budget).
func parseSize(v any) (int64, error) {
	switch v := v.(type) {
	case nil:
		return 0, nil
	case int64:
		if v <= 0 {
			return 0, fmt.Errorf("%d is not a positive number of bytes", v)
		}
		return v, nil
	case string:
		m := sizePattern.FindStringSubmatch(v)
		if m == nil {
			return 0, fmt.Errorf("%q is not a size such as \"300 MiB\"", v)
		}
		unit, ok := sizeUnits[strings.ToLower(m[2])]
		if !ok {
			return 0, fmt.Errorf("%q: unknown unit %q (B, kB, MB, GB, KiB, MiB, GiB)", v, m[2])
		}
		n, err := strconv.ParseFloat(m[1], 64)
		if err != nil || n <= 0 {
			return 0, fmt.Errorf("%q is not a positive size", v)
		}
		return int64(n * float64(unit)), nil
	default:
		return 0, fmt.Errorf("expected a number of bytes or a string such as \"300 MiB\", got %v", v)
	}
}

// Adjust applies the configured severity to a result Static did not
// produce: a --run check.
func (c Config) Adjust(r Result) Result {
	sev, ok := c.Severity[r.Check]
	if !ok {
		sev = SeverityError
	}
	switch {
	case sev == SeverityOff:
		return Result{Check: r.Check, Status: StatusSkip, Detail: "disabled by config"}
	case r.Status == StatusFail && sev == SeverityWarning:
		r.Status = StatusWarn
	}
	return r
}
