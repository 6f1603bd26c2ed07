package requirements

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/kiln-build/kiln/internal/pyname"
)

// option is one option given on a line, under its canonical long name.
type option struct {
	name, value string
}

// longOptions maps every long spelling pip accepts in a requirements file to
// its canonical name. Abbreviations are matched against all of them, as
// optparse does, so an abbreviation means here what it means to pip.
var longOptions = map[string]string{
	"index-url":       "index-url",
	"pypi-url":        "index-url",
	"extra-index-url": "extra-index-url",
	"no-index":        "no-index",
	"find-links":      "find-links",
	"no-binary":       "no-binary",
	"only-binary":     "only-binary",
	"prefer-binary":   "prefer-binary",
	"pre":             "pre",
	"trusted-host":    "trusted-host",
	"require-hashes":  "require-hashes",
	"use-feature":     "use-feature",
	"requirement":     "requirement",
	"constraint":      "constraint",
	"editable":        "editable",
	"hash":            "hash",
	"config-settings": "config-settings",
}

var shortOptions = map[byte]string{
	'i': "index-url",
	'f': "find-links",
	'r': "requirement",
	'c': "constraint",
	'e': "editable",
	'C': "config-settings",
}

// flags take no value.
var flags = map[string]bool{"no-index": true, "prefer-binary": true, "pre": true, "require-hashes": true}

const knownOptions = "-r/--requirement, -c/--constraint, -i/--index-url, --extra-index-url, --no-index, " +
	"-f/--find-links, --only-binary, --no-binary, --prefer-binary, --pre, --trusted-host, --require-hashes, " +
	"--use-feature, and --hash or -C/--config-settings after a requirement"

// quotable matches option spellings safe to repeat in a message; anything
// else might be the content of a file that is not a requirements file.
var quotable = regexp.MustCompile(`^--?[A-Za-z0-9][A-Za-z0-9_-]{0,39}$`)

func unknownOption(spelled string) error {
	if !quotable.MatchString(spelled) {
		spelled = "an option"
	}
	return fmt.Errorf("unknown option %s (kiln reads %s)", spelled, knownOptions)
}

// parseOptions reads the shell words of a line's options part as pip's
// optparse parser does: long options by unique prefix, with "=value" or the
// next word; short ones with the value attached or the next word. pip
// ignores words that are not options; kiln refuses them.
func parseOptions(words []string) ([]option, error) {
	var out []option
	for i := 0; i < len(words); i++ {
		w := words[i]
		var name, value string
		hasValue := false
		switch {
		case w == "--":
			if i+1 < len(words) {
				return nil, errors.New("unexpected text after --")
			}
			return out, nil
		case strings.HasPrefix(w, "--"):
			spelled, v, eq := strings.Cut(w[2:], "=")
			var err error
			if name, err = matchLong(spelled); err != nil {
				return nil, err
			}
			value, hasValue = v, eq
			if flags[name] {
				if hasValue {
					return nil, fmt.Errorf("--%s takes no value", name)
				}
				out = append(out, option{name: name})
				continue
			}
		case len(w) > 1 && w[0] == '-':
			var ok bool
			if name, ok = shortOptions[w[1]]; !ok {
				return nil, unknownOption(w[:2])
			}
			value, hasValue = w[2:], len(w) > 2
		default:
			return nil, errors.New("unexpected text among the options (an option value needs no space after `=`, or quotes)")
		}
		if !hasValue {
			if i+1 == len(words) {
				return nil, fmt.Errorf("--%s needs a value", name)
			}
			i++
			value = words[i]
		}
		out = append(out, option{name: name, value: value})
	}
	return out, nil
}

func matchLong(spelled string) (string, error) {
	if name, ok := longOptions[spelled]; ok {
		return name, nil
	}
	var matches []string
	for s := range longOptions {
		if spelled != "" && strings.HasPrefix(s, spelled) {
			matches = append(matches, s)
		}
	}
	switch len(matches) {
	case 0:
		return "", unknownOption("--" + spelled)
	case 1:
		return longOptions[matches[0]], nil
	}
	sort.Strings(matches)
	return "", fmt.Errorf("ambiguous option --%s: --%s", spelled, strings.Join(matches, ", --"))
}

// formatControl is pip's FormatControl: the projects for which wheels
// (noBinary) or sdists (onlyBinary) are refused, ":all:" standing for every
// project.
type formatControl struct {
	noBinary, onlyBinary map[string]bool
}

// handle applies one --no-binary or --only-binary value the way pip's
// FormatControl.handle_mutual_excludes does: names are added to target and
// removed from other, ":all:" replaces both sets, ":none:" empties target.
func handle(value string, target, other map[string]bool) error {
	if value == "" || strings.HasPrefix(value, "-") {
		return errors.New("--no-binary and --only-binary need :all:, :none: or project names")
	}
	items := strings.Split(value, ",")
	for {
		i := slices.Index(items, ":all:")
		if i < 0 {
			break
		}
		clear(other)
		clear(target)
		target[":all:"] = true
		items = items[i+1:]
		if !slices.Contains(items, ":none:") {
			return nil
		}
	}
	for _, item := range items {
		if item == ":none:" {
			clear(target)
			continue
		}
		if !nameRE.MatchString(item) {
			return errors.New("--no-binary and --only-binary take :all:, :none: or project names separated by commas")
		}
		n := pyname.Normalize(item)
		delete(other, n)
		target[n] = true
	}
	return nil
}

func sortedSet(set map[string]bool) []string {
	if len(set) == 0 {
		return nil
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// WheelAllowed reports whether the file lets name (normalised) be installed
// from a wheel, by pip's precedence: a named --only-binary, a named
// --no-binary, then ":all:" in --only-binary, then in --no-binary.
func (o *Options) WheelAllowed(name string) bool {
	switch {
	case slices.Contains(o.OnlyBinary, name):
		return true
	case slices.Contains(o.NoBinary, name):
		return false
	case slices.Contains(o.OnlyBinary, ":all:"):
		return true
	}
	return !slices.Contains(o.NoBinary, ":all:")
}
