package project

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/docker/go-units"
	"github.com/moby/patternmatcher"
)

// Config is the [tool.kiln] table of pyproject.toml. Every key can also be set
// from a command-line flag through Set; both paths share the same validation.
type Config struct {
	Base      string
	Platforms []string
	Packages  []string
	// DebianMirror and DebianSecurityMirror are the archives Debian packages
	// come from; empty means deb.debian.org.
	DebianMirror         string
	DebianSecurityMirror string
	// Lock is the lock file to build from, relative to the project; empty
	// means the first of uv.lock, pylock.toml, requirements files.
	Lock string
	// FindLinks are local wheelhouse directories (or find-links pages):
	// wheels found there by name and hash are used instead of downloading.
	FindLinks   []string
	Command     []string
	Port        int // 0: not configured
	Healthcheck *Healthcheck
	Env         map[string]string
	RequiredEnv []string
	User        User
	Groups      []string
	Exclude     []string
	Labels      map[string]string
	// MaxUnpackedSize (bytes) and MaxCompressionRatio bound what one wheel
	// may unpack to, against zip bombs; 0 means the installer's defaults.
	MaxUnpackedSize     int64
	MaxCompressionRatio float64
}

// Healthcheck is [tool.kiln].healthcheck. Zero durations and retries mean
// "the engine's default".
type Healthcheck struct {
	Path        string // HTTP path, starts with "/"
	Port        int    // 0: Config.Port
	Interval    time.Duration
	Timeout     time.Duration
	StartPeriod time.Duration
	Retries     int
}

// User is the runtime user of the image.
type User struct {
	Name     string
	UID, GID int
}

// DefaultUser is the runtime user when [tool.kiln].user does not say
// otherwise.
var DefaultUser = User{Name: "app", UID: 1001, GID: 1001}

// Key describes one configuration key for flag registration and docs.
type Key struct {
	Name string // as in [tool.kiln], e.g. "required-env" or "healthcheck.path"
	Form string // the form Set accepts
}

// Keys lists every key Set accepts, in the order of DESIGN.md.
func Keys() []Key {
	var keys []Key
	for _, k := range topKeys {
		keys = append(keys, Key{Name: k.name, Form: k.form})
		for _, s := range k.sub {
			keys = append(keys, Key{Name: k.name + "." + s.name, Form: s.form})
		}
	}
	return keys
}

// Set sets one key from a flag value. List keys replace the list with the
// comma-separated items of value; map keys (env, labels) add or replace one
// K=V entry, so a repeated flag calls Set once per occurrence. command takes
// a JSON array (exec form) or whitespace-separated words. healthcheck and user
// take comma-separated K=V pairs for the whole table (healthcheck also a bare
// path, or "" to remove it), and each of their fields is settable on its own
// as "healthcheck.interval", "user.uid" and so on. Keys lists every form.
// Call Validate once all flags are applied. On error c is unchanged.
func (c *Config) Set(key, value string) error {
	name, sub, dotted := strings.Cut(key, ".")
	k := findKey(topKeys, name)
	if k == nil {
		return fmt.Errorf("unknown key %q (known keys: %s)", key, strings.Join(keyNames(topKeys), ", "))
	}
	if dotted {
		if k.sub == nil {
			return fmt.Errorf("unknown key %q: %s has no fields", key, name)
		}
		if k = findKey(k.sub, sub); k == nil {
			return fmt.Errorf("unknown key %q (known keys of %s: %s)", key, name, strings.Join(keyNames(findKey(topKeys, name).sub), ", "))
		}
	}
	// Setters write only after validating, but a table setter resets the
	// whole table first, so work on a copy.
	next := *c
	if err := k.flag(&next, value); err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	*c = next
	return nil
}

// Validate checks what no single key can: call it after applying flags
// with Set. Load has already validated what pyproject.toml says.
func (c *Config) Validate() error {
	if c.Healthcheck != nil {
		if err := validateHealthcheck(c.Healthcheck); err != nil {
			return fmt.Errorf("healthcheck: %w", err)
		}
	}
	return nil
}

// configKey is one key of [tool.kiln] or of one of its tables.
type configKey struct {
	name string
	form string
	toml func(c *Config, v any) error
	flag func(c *Config, s string) error
	sub  []configKey // fields of a table key
}

var topKeys = []configKey{
	{name: "base", form: "image reference, e.g. python:3.12-slim-bookworm or deb:bookworm",
		toml: func(c *Config, v any) error { return setString(&c.Base, v, validateBase) },
		flag: func(c *Config, s string) error { return assign(&c.Base, s, validateBase) }},
	{name: "platforms", form: "comma-separated list of OS/ARCH[/VARIANT]",
		toml: func(c *Config, v any) error { return setList(&c.Platforms, v, validatePlatform) },
		flag: func(c *Config, s string) error { return assign(&c.Platforms, splitList(s), eachOf(validatePlatform)) }},
	{name: "packages", form: "comma-separated list of Debian package names",
		toml: func(c *Config, v any) error { return setList(&c.Packages, v, validatePackage) },
		flag: func(c *Config, s string) error { return assign(&c.Packages, splitList(s), eachOf(validatePackage)) }},
	{name: "debian-mirror", form: "URL of a Debian archive mirror (default http://deb.debian.org/debian)",
		toml: func(c *Config, v any) error { return setString(&c.DebianMirror, v, validateMirror) },
		flag: func(c *Config, s string) error { return assign(&c.DebianMirror, s, validateMirror) }},
	{name: "debian-security-mirror", form: "URL of the Debian security archive (default http://deb.debian.org/debian-security)",
		toml: func(c *Config, v any) error { return setString(&c.DebianSecurityMirror, v, validateMirror) },
		flag: func(c *Config, s string) error { return assign(&c.DebianSecurityMirror, s, validateMirror) }},
	{name: "lock", form: "lock file, relative to the project: uv.lock, pylock[.NAME].toml or a hashed requirements file",
		toml: func(c *Config, v any) error { return setString(&c.Lock, v, validateLockPath) },
		flag: func(c *Config, s string) error { return assign(&c.Lock, s, validateLockPath) }},
	{name: "find-links", form: "comma-separated list of wheelhouse directories or find-links URLs",
		toml: func(c *Config, v any) error { return setList(&c.FindLinks, v, nil) },
		flag: func(c *Config, s string) error { return assign(&c.FindLinks, splitList(s), nil) }},
	{name: "command", form: `JSON array (exec form, e.g. ["gunicorn","app:app"]) or whitespace-separated words`,
		toml: func(c *Config, v any) error {
			var cmd []string
			if err := setList(&cmd, v, nil); err != nil {
				return err
			}
			return assign(&c.Command, cmd, validateCommand)
		},
		flag: setCommandFlag},
	{name: "port", form: "integer 1-65535",
		toml: func(c *Config, v any) error { return setInt(&c.Port, v, validatePort) },
		flag: func(c *Config, s string) error { return setIntFlag(&c.Port, s, validatePort) }},
	{name: "healthcheck", form: `PATH, or comma-separated K=V of the healthcheck fields, or "" for none`,
		toml: setHealthcheckTOML, flag: setHealthcheckFlag, sub: healthcheckKeys},
	{name: "env", form: "one NAME=VALUE (repeat to add more)",
		toml: func(c *Config, v any) error { return setMap(&c.Env, v, validateEnvName) },
		flag: func(c *Config, s string) error { return addPair(&c.Env, s, validateEnvName) }},
	{name: "required-env", form: "comma-separated list of environment variable names",
		toml: func(c *Config, v any) error { return setList(&c.RequiredEnv, v, validateEnvName) },
		flag: func(c *Config, s string) error {
			return assign(&c.RequiredEnv, splitList(s), eachOf(validateEnvName))
		}},
	{name: "user", form: "comma-separated K=V of name, uid, gid (unset fields take the defaults app/1001/1001)",
		toml: setUserTOML, flag: setUserFlag, sub: userKeys},
	{name: "groups", form: "comma-separated list of dependency group names",
		toml: func(c *Config, v any) error { return setList(&c.Groups, v, validateGroup) },
		flag: func(c *Config, s string) error { return assign(&c.Groups, splitList(s), eachOf(validateGroup)) }},
	{name: "exclude", form: "comma-separated list of .dockerignore patterns",
		toml: func(c *Config, v any) error { return setList(&c.Exclude, v, validatePattern) },
		flag: func(c *Config, s string) error { return assign(&c.Exclude, splitList(s), eachOf(validatePattern)) }},
	{name: "labels", form: "one KEY=VALUE (repeat to add more)",
		toml: func(c *Config, v any) error { return setMap(&c.Labels, v, validateLabel) },
		flag: func(c *Config, s string) error { return addPair(&c.Labels, s, validateLabel) }},
	{name: "max-unpacked-size", form: `size such as "8 GiB" (the default) or a number of bytes: the most one wheel may unpack to`,
		toml: func(c *Config, v any) error { return setSize(&c.MaxUnpackedSize, v) },
		flag: func(c *Config, s string) error { return setSizeFlag(&c.MaxUnpackedSize, s) }},
	{name: "max-compression-ratio", form: "number >= 1, default 200: the most a wheel, or a member of it over 1 MiB, may be compressed by",
		toml: func(c *Config, v any) error { return setRatio(&c.MaxCompressionRatio, v) },
		flag: func(c *Config, s string) error { return setRatioFlag(&c.MaxCompressionRatio, s) }},
}

// hc returns the healthcheck, creating it so that a field can be set alone.
func (c *Config) hc() *Healthcheck {
	if c.Healthcheck == nil {
		c.Healthcheck = &Healthcheck{}
	}
	return c.Healthcheck
}

var healthcheckKeys = []configKey{
	{name: "path", form: "HTTP path starting with /",
		toml: func(c *Config, v any) error { return setString(&c.hc().Path, v, validatePath) },
		flag: func(c *Config, s string) error { return assign(&c.hc().Path, s, validatePath) }},
	{name: "port", form: "integer 1-65535 (default: port)",
		toml: func(c *Config, v any) error { return setInt(&c.hc().Port, v, validatePort) },
		flag: func(c *Config, s string) error { return setIntFlag(&c.hc().Port, s, validatePort) }},
	{name: "interval", form: `duration, e.g. "30s"`,
		toml: func(c *Config, v any) error { return setDuration(&c.hc().Interval, v) },
		flag: func(c *Config, s string) error { return setDurationFlag(&c.hc().Interval, s) }},
	{name: "timeout", form: `duration, e.g. "3s"`,
		toml: func(c *Config, v any) error { return setDuration(&c.hc().Timeout, v) },
		flag: func(c *Config, s string) error { return setDurationFlag(&c.hc().Timeout, s) }},
	{name: "start-period", form: `duration, e.g. "10s"`,
		toml: func(c *Config, v any) error { return setDuration(&c.hc().StartPeriod, v) },
		flag: func(c *Config, s string) error { return setDurationFlag(&c.hc().StartPeriod, s) }},
	{name: "retries", form: "integer >= 0",
		toml: func(c *Config, v any) error { return setInt(&c.hc().Retries, v, validateRetries) },
		flag: func(c *Config, s string) error { return setIntFlag(&c.hc().Retries, s, validateRetries) }},
}

var userKeys = []configKey{
	{name: "name", form: "user name ([a-z_][a-z0-9_-]*, at most 32 characters)",
		toml: func(c *Config, v any) error { return setString(&c.User.Name, v, validateUserName) },
		flag: func(c *Config, s string) error { return assign(&c.User.Name, s, validateUserName) }},
	{name: "uid", form: "integer 1-2147483647",
		toml: func(c *Config, v any) error { return setInt(&c.User.UID, v, validateID) },
		flag: func(c *Config, s string) error { return setIntFlag(&c.User.UID, s, validateID) }},
	{name: "gid", form: "integer 1-2147483647",
		toml: func(c *Config, v any) error { return setInt(&c.User.GID, v, validateID) },
		flag: func(c *Config, s string) error { return setIntFlag(&c.User.GID, s, validateID) }},
}

// parseConfig decodes the [tool.kiln] table. Errors are *keyError; the
// caller adds the file.
func parseConfig(t map[string]any) (Config, error) {
	c := Config{User: DefaultUser}
	if err := setTable(&c, t, topKeys, ""); err != nil {
		return Config{}, err
	}
	return c, nil
}

// keyError is a bad [tool.kiln] entry. Key is dotted for nested tables
// ("healthcheck.interval").
type keyError struct {
	Key string
	Err error
}

func (e *keyError) Error() string { return e.Key + ": " + e.Err.Error() }
func (e *keyError) Unwrap() error { return e.Err }

// setTable applies t through keys in sorted key order, so that the first
// error reported does not depend on map iteration. table is "" for
// [tool.kiln] itself, else the name of the nested table.
func setTable(c *Config, t map[string]any, keys []configKey, table string) error {
	names := make([]string, 0, len(t))
	for n := range t {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		key := n
		if table != "" {
			key = table + "." + n
		}
		k := findKey(keys, n)
		if k == nil {
			where := "[tool.kiln]"
			if table != "" {
				where = table
			}
			return &keyError{Key: key, Err: fmt.Errorf("unknown key (known keys of %s: %s)", where, strings.Join(keyNames(keys), ", "))}
		}
		if err := k.toml(c, t[n]); err != nil {
			var ke *keyError
			if errors.As(err, &ke) {
				return err // a nested table already named the full key
			}
			return &keyError{Key: key, Err: err}
		}
	}
	return nil
}

func findKey(keys []configKey, name string) *configKey {
	for i := range keys {
		if keys[i].name == name {
			return &keys[i]
		}
	}
	return nil
}

func keyNames(keys []configKey) []string {
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = k.name
	}
	sort.Strings(names)
	return names
}

func setHealthcheckTOML(c *Config, v any) error {
	t, ok := v.(map[string]any)
	if !ok {
		return typeError("a table", v)
	}
	c.Healthcheck = &Healthcheck{}
	if err := setTable(c, t, healthcheckKeys, "healthcheck"); err != nil {
		return err
	}
	return validateHealthcheck(c.Healthcheck)
}

func setHealthcheckFlag(c *Config, s string) error {
	if s == "" {
		c.Healthcheck = nil
		return nil
	}
	c.Healthcheck = &Healthcheck{}
	if strings.HasPrefix(s, "/") {
		c.Healthcheck.Path = s
		return nil
	}
	if err := setPairs(c, s, healthcheckKeys); err != nil {
		return err
	}
	return validateHealthcheck(c.Healthcheck)
}

func validateHealthcheck(h *Healthcheck) error {
	if h.Path == "" {
		return fmt.Errorf("path is required")
	}
	return nil
}

func setUserTOML(c *Config, v any) error {
	t, ok := v.(map[string]any)
	if !ok {
		return typeError("a table", v)
	}
	c.User = DefaultUser
	return setTable(c, t, userKeys, "user")
}

func setUserFlag(c *Config, s string) error {
	c.User = DefaultUser
	return setPairs(c, s, userKeys)
}

// setPairs applies "k=v,k=v" to the fields of a table.
func setPairs(c *Config, s string, keys []configKey) error {
	for _, pair := range splitList(s) {
		k, v, ok := strings.Cut(pair, "=")
		if !ok {
			return fmt.Errorf("%q is not KEY=VALUE (keys: %s)", pair, strings.Join(keyNames(keys), ", "))
		}
		f := findKey(keys, strings.TrimSpace(k))
		if f == nil {
			return fmt.Errorf("unknown field %q (known: %s)", k, strings.Join(keyNames(keys), ", "))
		}
		if err := f.flag(c, strings.TrimSpace(v)); err != nil {
			return fmt.Errorf("%s: %w", f.name, err)
		}
	}
	return nil
}

func setCommandFlag(c *Config, s string) error {
	var words []string
	if strings.HasPrefix(strings.TrimSpace(s), "[") {
		if err := json.Unmarshal([]byte(s), &words); err != nil {
			return fmt.Errorf("not a JSON array of strings: %v", err)
		}
	} else {
		words = strings.Fields(s)
	}
	return assign(&c.Command, words, validateCommand)
}

func validateCommand(cmd []string) error {
	if len(cmd) == 0 || strings.TrimSpace(cmd[0]) == "" {
		return fmt.Errorf("must not be empty; leave it out to have it inferred")
	}
	return nil
}

// typeError reports a TOML value of the wrong type.
func typeError(want string, v any) error {
	return fmt.Errorf("expected %s, got %s", want, describe(v))
}

func describe(v any) string {
	switch v := v.(type) {
	case string:
		return fmt.Sprintf("string %q", v)
	case int64:
		return fmt.Sprintf("integer %d", v)
	case float64:
		return fmt.Sprintf("float %v", v)
	case bool:
		return fmt.Sprintf("boolean %v", v)
	case []any:
		return "an array"
	case map[string]any:
		return "a table"
	default:
		return fmt.Sprintf("%T", v)
	}
}

func setString(dst *string, v any, check func(string) error) error {
	s, ok := v.(string)
	if !ok {
		return typeError("a string", v)
	}
	return assign(dst, s, check)
}

func assign[T any](dst *T, v T, check func(T) error) error {
	if check != nil {
		if err := check(v); err != nil {
			return err
		}
	}
	*dst = v
	return nil
}

func setList(dst *[]string, v any, check func(string) error) error {
	a, ok := v.([]any)
	if !ok {
		return typeError("an array of strings", v)
	}
	out := make([]string, 0, len(a))
	for i, e := range a {
		s, ok := e.(string)
		if !ok {
			return fmt.Errorf("item %d: %w", i, typeError("a string", e))
		}
		if check != nil {
			if err := check(s); err != nil {
				return fmt.Errorf("item %d: %w", i, err)
			}
		}
		out = append(out, s)
	}
	*dst = out
	return nil
}

func eachOf(check func(string) error) func([]string) error {
	return func(list []string) error {
		for i, s := range list {
			if err := check(s); err != nil {
				return fmt.Errorf("item %d: %w", i, err)
			}
		}
		return nil
	}
}

// splitList splits a flag value on commas; "" is the empty list.
func splitList(s string) []string {
	if strings.TrimSpace(s) == "" {
		return []string{}
	}
	parts := strings.Split(s, ",")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}

func setInt(dst *int, v any, check func(int) error) error {
	n, ok := v.(int64)
	if !ok {
		return typeError("an integer", v)
	}
	if n < math.MinInt32 || n > math.MaxInt32 {
		return fmt.Errorf("%d is out of range", n)
	}
	return assign(dst, int(n), check)
}

func setIntFlag(dst *int, s string, check func(int) error) error {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 32)
	if err != nil {
		return fmt.Errorf("expected an integer, got %q", s)
	}
	return assign(dst, int(n), check)
}

func setDuration(dst *time.Duration, v any) error {
	s, ok := v.(string)
	if !ok {
		return typeError(`a duration string such as "30s"`, v)
	}
	return setDurationFlag(dst, s)
}

func setDurationFlag(dst *time.Duration, s string) error {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf(`expected a duration such as "30s", got %q`, s)
	}
	if d < 0 {
		return fmt.Errorf("duration %q is negative", s)
	}
	*dst = d
	return nil
}

func setSize(dst *int64, v any) error {
	switch v := v.(type) {
	case int64:
		if v <= 0 {
			return fmt.Errorf("%d is not a positive number of bytes", v)
		}
		*dst = v
		return nil
	case string:
		return setSizeFlag(dst, v)
	default:
		return typeError(`a size such as "8 GiB" or a number of bytes`, v)
	}
}

// setSizeFlag reads binary units, as docker does: "8 GiB", "8g" and "8GB"
// are all 8<<30 bytes.
func setSizeFlag(dst *int64, s string) error {
	n, err := units.RAMInBytes(strings.TrimSpace(s))
	if err != nil || n <= 0 {
		return fmt.Errorf(`expected a positive size such as "8 GiB", got %q`, s)
	}
	*dst = n
	return nil
}

func setRatio(dst *float64, v any) error {
	switch v := v.(type) {
	case int64:
		return assign(dst, float64(v), validateRatio)
	case float64:
		return assign(dst, v, validateRatio)
	default:
		return typeError("a number", v)
	}
}

func setRatioFlag(dst *float64, s string) error {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return fmt.Errorf("expected a number, got %q", s)
	}
	return assign(dst, f, validateRatio)
}

func validateRatio(f float64) error {
	if math.IsNaN(f) || math.IsInf(f, 0) || f < 1 {
		return fmt.Errorf("ratio %v is not a finite number >= 1", f)
	}
	return nil
}

func setMap(dst *map[string]string, v any, checkKey func(string) error) error {
	t, ok := v.(map[string]any)
	if !ok {
		return typeError("a table of strings", v)
	}
	keys := make([]string, 0, len(t))
	for k := range t {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make(map[string]string, len(t))
	for _, k := range keys {
		e := t[k]
		s, ok := e.(string)
		if !ok {
			return fmt.Errorf("%s: %w", k, typeError("a string", e))
		}
		if err := checkKey(k); err != nil {
			return err
		}
		out[k] = s
	}
	*dst = out
	return nil
}

func addPair(dst *map[string]string, s string, checkKey func(string) error) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok {
		return fmt.Errorf("expected KEY=VALUE, got %q", s)
	}
	if err := checkKey(k); err != nil {
		return err
	}
	if *dst == nil {
		*dst = map[string]string{}
	}
	(*dst)[k] = v
	return nil
}

var (
	platformRE = regexp.MustCompile(`^[a-z0-9]+/[a-z0-9_]+(/[a-z0-9]+)?$`)
	// Debian policy 5.6.1: lower case letters, digits, + - . ; at least two
	// characters, starting with an alphanumeric.
	packageRE  = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]+$`)
	envNameRE  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	userNameRE = regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,31}$`)
	// PEP 735 group names follow the PEP 508 name rules.
	groupRE = regexp.MustCompile(`^(?i:[a-z0-9]|[a-z0-9][a-z0-9._-]*[a-z0-9])$`)
)

func validateLockPath(s string) error {
	if strings.TrimSpace(s) == "" || strings.ContainsRune(s, 0) {
		return fmt.Errorf("%q is not a file name", s)
	}
	return nil
}

func validateMirror(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an http(s) URL", s)
	}
	if u.User != nil {
		return fmt.Errorf("%q carries credentials: kiln never writes credentials to config or the lock", s)
	}
	return nil
}

func validateBase(s string) error {
	if strings.TrimSpace(s) == "" || strings.ContainsAny(s, " \t\n") {
		return fmt.Errorf("invalid image reference %q", s)
	}
	return nil
}

func validatePlatform(s string) error {
	if !platformRE.MatchString(s) {
		return fmt.Errorf("invalid platform %q, want OS/ARCH[/VARIANT] such as linux/amd64", s)
	}
	return nil
}

func validatePackage(s string) error {
	if !packageRE.MatchString(s) {
		return fmt.Errorf("invalid Debian package name %q", s)
	}
	return nil
}

func validatePort(n int) error {
	if n < 1 || n > 65535 {
		return fmt.Errorf("port %d is not in 1-65535", n)
	}
	return nil
}

func validateRetries(n int) error {
	if n < 0 {
		return fmt.Errorf("retries %d is negative", n)
	}
	return nil
}

func validatePath(s string) error {
	if !strings.HasPrefix(s, "/") || strings.ContainsAny(s, " \t\n") {
		return fmt.Errorf("invalid HTTP path %q, want one starting with /", s)
	}
	return nil
}

func validateEnvName(s string) error {
	if !envNameRE.MatchString(s) {
		return fmt.Errorf("invalid environment variable name %q", s)
	}
	return nil
}

func validateLabel(s string) error {
	if strings.TrimSpace(s) == "" {
		return fmt.Errorf("empty label key")
	}
	return nil
}

func validateUserName(s string) error {
	if !userNameRE.MatchString(s) {
		return fmt.Errorf("invalid user name %q, want [a-z_][a-z0-9_-]* of at most 32 characters", s)
	}
	return nil
}

// validateID refuses 0: kiln images run as a non-root user, and verify
// checks it.
func validateID(n int) error {
	if n == 0 {
		return fmt.Errorf("0 is root; kiln images run as a non-root user")
	}
	if n < 0 {
		return fmt.Errorf("%d is negative", n)
	}
	return nil
}

func validateGroup(s string) error {
	if !groupRE.MatchString(s) {
		return fmt.Errorf("invalid dependency group name %q", s)
	}
	return nil
}

func validatePattern(s string) error {
	if strings.TrimSpace(s) == "" {
		return fmt.Errorf("empty pattern")
	}
	if _, err := patternmatcher.New([]string{cleanPattern(s)}); err != nil {
		return fmt.Errorf("invalid pattern %q: %v", s, err)
	}
	return nil
}
