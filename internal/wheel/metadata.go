package wheel

import (
	"fmt"
	"strconv"
	"strings"
)

// Headers holds the header block of an email-style file (METADATA, WHEEL)
// keyed by lower-cased field name, values in file order.
type Headers map[string][]string

// first returns the first value of field, as pip and uv do for duplicated
// Wheel-Version headers.
func (h Headers) First(field string) (string, bool) {
	v := h[strings.ToLower(field)]
	if len(v) == 0 {
		return "", false
	}
	return v[0], true
}

// ParseHeaders reads the header block (up to the first empty line). Lines
// without a colon, and field names with spaces, are skipped as mailparse
// (used by uv) skips them; indented lines continue the previous value.
func ParseHeaders(data []byte) Headers {
	h := Headers{}
	var last string
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSuffix(line, "\r")
		if line == "" {
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			if vals := h[last]; last != "" && len(vals) > 0 {
				vals[len(vals)-1] = strings.TrimSpace(vals[len(vals)-1] + " " + strings.TrimSpace(line))
			}
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok || name == "" || strings.ContainsAny(name, " \t") {
			last = ""
			continue
		}
		last = strings.ToLower(name)
		h[last] = append(h[last], strings.TrimSpace(value))
	}
	return h
}

// checkWheelVersion applies the spec's rule for WHEEL's Wheel-Version:
// abort if the major version is greater than 1.
func checkWheelVersion(h Headers) error {
	v, ok := h.First("Wheel-Version")
	if !ok {
		return fmt.Errorf("no Wheel-Version")
	}
	major, _, ok := strings.Cut(v, ".")
	n, err := strconv.Atoi(major)
	if !ok || err != nil || n < 0 {
		return fmt.Errorf("invalid Wheel-Version %q", v)
	}
	if n > 1 {
		return fmt.Errorf("unsupported Wheel-Version %s (this installer supports 1.x)", v)
	}
	return nil
}

// script is a console or gui script declared in entry_points.txt.
type script struct{ name, spec string }

// parseScripts reads the console_scripts and gui_scripts sections of an
// entry_points.txt: an INI file with case-sensitive keys and "=" as the only
// delimiter. Every line is stripped first, as importlib.metadata (pip's
// reader) does: setup.py files that pass entry_points as an indented string
// produce indented files, uvicorn 0.17's among them. Other sections are not interpreted. On Linux both kinds get the
// same launcher; a gui script replaces a console script of the same name, as
// in pip. Like pip and uv, pip's own "pip3.N" launchers are replaced by one
// for the target's minor version.
func parseScripts(data []byte, pythonMinor string) ([]script, error) {
	var section string
	byName := map[string]int{}
	var out []script
	add := func(s script) {
		if j, dup := byName[s.name]; dup {
			out[j] = s
			return
		}
		byName[s.name] = len(out)
		out = append(out, s)
	}
	seenInSection := map[string]bool{}
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimRight(line, "\r")
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || trimmed[0] == '#' || trimmed[0] == ';' {
			continue
		}
		if trimmed[0] == '[' {
			end := strings.IndexByte(trimmed, ']')
			if end < 0 {
				return nil, fmt.Errorf("line %d: malformed section header", i+1)
			}
			section = strings.TrimSpace(trimmed[1:end])
			seenInSection = map[string]bool{}
			continue
		}
		if section != "console_scripts" && section != "gui_scripts" {
			continue
		}
		name, value, ok := strings.Cut(trimmed, "=")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if !ok || name == "" {
			return nil, fmt.Errorf("line %d: want name = module:attr in [%s]", i+1, section)
		}
		if seenInSection[name] {
			return nil, fmt.Errorf("line %d: [%s] defines %s twice", i+1, section, name)
		}
		seenInSection[name] = true
		if err := checkScriptName(name); err != nil {
			return nil, fmt.Errorf("line %d: [%s] %w", i+1, section, err)
		}
		if _, err := parseEntryPoint(value); err != nil {
			return nil, fmt.Errorf("line %d: [%s] %s: %w", i+1, section, name, err)
		}
		if section == "console_scripts" && isVersionedPip(name) {
			continue
		}
		add(script{name: name, spec: value})
		if section == "console_scripts" && name == "pip3" {
			add(script{name: "pip" + pythonMinor, spec: value})
		}
	}
	return out, nil
}

// isVersionedPip matches the "pip3.N" launcher old pip wheels declare for
// the Python they were built with.
func isVersionedPip(name string) bool {
	minor, ok := strings.CutPrefix(name, "pip3.")
	if !ok {
		return false
	}
	_, err := strconv.ParseUint(minor, 10, 8)
	return err == nil
}

// checkScriptName refuses names that are not a single file name, and the
// venv's own interpreter links, which uv also refuses to overwrite.
func checkScriptName(name string) error {
	if name == "." || name == ".." || strings.ContainsAny(name, "/\\\x00") {
		return fmt.Errorf("script name %q is not a file name", name)
	}
	if name == "python" || name == "pythonw" || name == "python3" {
		return fmt.Errorf("script name %q is reserved for the venv", name)
	}
	if minor, ok := strings.CutPrefix(name, "python3."); ok {
		if _, err := strconv.ParseUint(minor, 10, 8); err == nil {
			return fmt.Errorf("script name %q is reserved for the venv", name)
		}
	}
	return nil
}
