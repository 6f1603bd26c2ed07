// Package pyname normalises Python distribution names, extras and
// dependency groups (PEP 503, applied to extras by PEP 685 and to groups by
// PEP 735), so that every part of kiln compares names the same way.
package pyname

import (
	"regexp"
	"strings"
)

var separators = regexp.MustCompile(`[-_.]+`)

// Normalize lowercases name and collapses each run of "-", "_" and "." to "-".
func Normalize(name string) string {
	return strings.ToLower(separators.ReplaceAllString(name, "-"))
}

// Escape is the form used in wheel file names and .dist-info directory
// names: the normalized name with "-" replaced by "_".
func Escape(name string) string {
	return strings.ReplaceAll(Normalize(name), "-", "_")
}
