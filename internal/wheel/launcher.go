package wheel

import (
	"fmt"
	"strings"
	"unicode"
)

// shebang returns the interpreter line(s) for scripts of the venv at root,
// without the final newline. Like distlib, pip and uv, a path that would
// make the line longer than the kernel's 127-byte limit, or that contains a
// space, is run through a /bin/sh trampoline that Python reads as a string.
func shebang(venvRoot string) string {
	exe := venvRoot + "/bin/python"
	if len("#!")+len(exe)+len("\n") > 127 || strings.Contains(exe, " ") {
		quoted := "'" + strings.ReplaceAll(exe, "'", `'\''`) + "'"
		return "#!/bin/sh\n'''exec' " + quoted + " \"$0\" \"$@\"\n' '''"
	}
	return "#!" + exe
}

// entryPoint is a parsed "module:attr.path [extras]" value.
type entryPoint struct {
	module, attr string
}

// parseEntryPoint parses an entry point object reference. Extras are
// accepted and ignored, as the entry points specification requires. Both
// sides must be dotted Python identifiers: the value is pasted into Python
// source, so anything else would be a broken or hostile launcher.
func parseEntryPoint(spec string) (entryPoint, error) {
	v := strings.TrimSpace(spec)
	if i := strings.IndexByte(v, '['); i >= 0 {
		extras := strings.TrimSpace(v[i:])
		if !strings.HasSuffix(extras, "]") || strings.ContainsAny(extras[1:len(extras)-1], "[]") {
			return entryPoint{}, fmt.Errorf("entry point %q: malformed extras", spec)
		}
		v = strings.TrimSpace(v[:i])
	}
	mod, attr, ok := strings.Cut(v, ":")
	if !ok {
		return entryPoint{}, fmt.Errorf("entry point %q: want module:attribute", spec)
	}
	ep := entryPoint{module: strings.TrimSpace(mod), attr: strings.TrimSpace(attr)}
	if !dottedIdentifier(ep.module) || !dottedIdentifier(ep.attr) {
		return entryPoint{}, fmt.Errorf("entry point %q: module and attribute must be dotted Python identifiers", spec)
	}
	return ep, nil
}

func dottedIdentifier(s string) bool {
	if s == "" {
		return false
	}
	for _, part := range strings.Split(s, ".") {
		if !identifier(part) {
			return false
		}
	}
	return true
}

func identifier(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if r == '_' || unicode.IsLetter(r) || i > 0 && unicode.IsDigit(r) {
			continue
		}
		return false
	}
	return true
}

// Launcher returns the console-script file for the entry point spec
// ("module:attr.path") in the venv at venvRoot, byte for byte what uv writes
// (pip's distlib template without `import re`). The file must be mode 0755.
func Launcher(venvRoot, spec string) ([]byte, error) {
	ep, err := parseEntryPoint(spec)
	if err != nil {
		return nil, err
	}
	if err := checkVenvRoot(venvRoot); err != nil {
		return nil, err
	}
	importName, _, _ := strings.Cut(ep.attr, ".")
	return []byte(shebang(venvRoot) + `
# -*- coding: utf-8 -*-
import sys
from ` + ep.module + ` import ` + importName + `
if __name__ == "__main__":
    if sys.argv[0].endswith("-script.pyw"):
        sys.argv[0] = sys.argv[0][:-11]
    elif sys.argv[0].endswith(".exe"):
        sys.argv[0] = sys.argv[0][:-4]
    sys.exit(` + ep.attr + `())
`), nil
}
