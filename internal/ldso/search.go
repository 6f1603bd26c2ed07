package ldso

import (
	"debug/elf"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
)

// arch is what the loader's search depends on for one ELF machine.
type arch struct {
	triplet  string // Debian multiarch directory name
	platform string // value of $PLATFORM (AT_PLATFORM)
}

var arches = map[elf.Machine]arch{
	elf.EM_X86_64:  {"x86_64-linux-gnu", "x86_64"},
	elf.EM_AARCH64: {"aarch64-linux-gnu", "aarch64"},
	elf.EM_386:     {"i386-linux-gnu", "i686"},
	elf.EM_ARM:     {"arm-linux-gnueabihf", "v7l"},
}

// libDirs returns the values $LIB may take for id. glibc builds differ
// (Debian uses the multiarch directory, others lib64), so all are tried.
func libDirs(id ident) []string {
	var out []string
	if a, ok := arches[id.machine]; ok {
		out = append(out, "lib/"+a.triplet)
	}
	if id.class == elf.ELFCLASS64 {
		return append(out, "lib64")
	}
	return append(out, "lib32", "lib")
}

// defaultDirs returns the loader's built-in directories for id.
func defaultDirs(id ident) []string {
	var out []string
	if a, ok := arches[id.machine]; ok {
		out = append(out, "lib/"+a.triplet, "usr/lib/"+a.triplet)
	}
	if id.class == elf.ELFCLASS64 {
		out = append(out, "lib64", "usr/lib64")
	} else {
		out = append(out, "lib32", "usr/lib32")
	}
	return append(out, "lib", "usr/lib")
}

// searchDirs returns, in the loader's order and without repeats, the
// directories searched for the libraries of an object whose resolved
// directory is origin.
func searchDirs(id ident, origin string, rpath, runpath []string, nodeflib bool, conf []string) []string {
	var dirs []string
	seen := map[string]bool{}
	add := func(ds ...string) {
		for _, d := range ds {
			if !seen[d] {
				seen[d] = true
				dirs = append(dirs, d)
			}
		}
	}
	expandAll := func(list []string) {
		for _, l := range list {
			for _, e := range strings.Split(l, ":") {
				// An empty element means the working directory, which
				// is unknown without running the program.
				if e != "" {
					add(expand(e, id, origin)...)
				}
			}
		}
	}
	if len(runpath) == 0 {
		expandAll(rpath)
	}
	expandAll(runpath)
	if !nodeflib {
		add(conf...)
		add(defaultDirs(id)...)
	}
	return dirs
}

// expand substitutes the dynamic string tokens in the search path element
// e and returns the root-relative directories it stands for. Relative
// elements are taken relative to the root, the usual working directory.
func expand(e string, id ident, origin string) []string {
	outs := []string{""}
	appendAll := func(vals ...string) {
		var next []string
		for _, o := range outs {
			for _, v := range vals {
				next = append(next, o+v)
			}
		}
		outs = next
	}
	for e != "" {
		i := strings.IndexByte(e, '$')
		if i < 0 {
			appendAll(e)
			break
		}
		appendAll(e[:i])
		e = e[i+1:]
		name, rest, ok := dstName(e)
		if !ok {
			appendAll("$")
			continue
		}
		e = rest
		switch name {
		case "ORIGIN":
			appendAll("/" + origin)
		case "LIB":
			vals := libDirs(id)
			for i := range vals {
				vals[i] = "/" + vals[i]
			}
			appendAll(vals...)
		case "PLATFORM":
			a, ok := arches[id.machine]
			if !ok {
				// The loader drops elements it cannot expand.
				return nil
			}
			appendAll(a.platform)
		}
	}
	for i, o := range outs {
		outs[i] = strings.TrimPrefix(path.Clean("/"+o), "/")
		if outs[i] == "" {
			outs[i] = "."
		}
	}
	return outs
}

// dstName recognises a token name after '$', bare or in braces.
func dstName(s string) (name, rest string, ok bool) {
	for _, n := range []string{"ORIGIN", "LIB", "PLATFORM"} {
		if r, found := strings.CutPrefix(s, "{"+n+"}"); found {
			return n, r, true
		}
		if r, found := strings.CutPrefix(s, n); found && !isIdent(r) {
			return n, r, true
		}
	}
	return "", s, false
}

// isIdent reports whether s continues a bare token name, as in $ORIGINAL.
func isIdent(s string) bool {
	if s == "" {
		return false
	}
	c := s[0]
	return c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// maxIncludeDepth bounds include recursion the way a visited set alone
// cannot when globs keep matching new files.
const maxIncludeDepth = 16

// readConf returns the directories listed in etc/ld.so.conf and the files
// it includes. A missing ld.so.conf is not an error: the loader then uses
// its default directories only.
func readConf(root FS) ([]string, error) {
	var dirs []string
	seen := map[string]bool{}
	if err := parseConf(root, "etc/ld.so.conf", 0, seen, &dirs); err != nil {
		return nil, fmt.Errorf("ldso: %w", err)
	}
	return dirs, nil
}

func parseConf(root FS, name string, depth int, seen map[string]bool, dirs *[]string) error {
	real, err := Resolve(root, name)
	if err != nil {
		return err
	}
	if seen[real] || depth > maxIncludeDepth {
		return nil
	}
	seen[real] = true
	b, err := fs.ReadFile(root, real)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for n, line := range strings.Split(string(b), "\n") {
		line, _, _ = strings.Cut(line, "#")
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		switch fields[0] {
		case "include":
			for _, pat := range fields[1:] {
				if !strings.HasPrefix(pat, "/") {
					pat = path.Join("/", path.Dir(name), pat)
				}
				matches, err := glob(root, pat)
				if err != nil {
					return fmt.Errorf("%s:%d: %w", name, n+1, err)
				}
				for _, m := range matches {
					if err := parseConf(root, m, depth+1, seen, dirs); err != nil {
						return err
					}
				}
			}
		case "hwcap":
			// Obsolete; ignored by current ldconfig.
		default:
			for _, f := range fields {
				*dirs = append(*dirs, strings.TrimPrefix(path.Clean("/"+f), "/"))
			}
		}
	}
	return nil
}

// glob matches an absolute include pattern inside root, resolving symbolic
// links in its directory first since fs.Glob cannot see them.
func glob(root FS, pattern string) ([]string, error) {
	p := strings.TrimPrefix(path.Clean(pattern), "/")
	dir, base := path.Split(p)
	if dir == "" || strings.ContainsAny(dir, `*?[\`) {
		return fs.Glob(root, p)
	}
	rd, err := Resolve(root, dir)
	if err != nil {
		return nil, nil
	}
	return fs.Glob(root, path.Join(rd, base))
}
