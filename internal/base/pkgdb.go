package base

import (
	"bufio"
	"bytes"
	"io"
	"strings"

	"github.com/kiln-build/kiln/internal/deb"
)

// pkg is one installed package of the image's package database.
type pkg struct {
	name, arch, version string
}

// parseDpkgStatus reads the installed packages from a dpkg status file (or one
// file of distroless's status.d). Stanzas whose Status is not "installed"
// (removed, config-files, half-installed) are left out.
func parseDpkgStatus(data []byte) ([]pkg, error) {
	var out []pkg
	r := deb.NewReader(bytes.NewReader(data))
	for {
		p, err := r.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		name, _ := p.Get("Package")
		status, _ := p.Get("Status")
		if name == "" || !strings.HasSuffix(status, " installed") {
			continue
		}
		arch, _ := p.Get("Architecture")
		version, _ := p.Get("Version")
		out = append(out, pkg{name: name, arch: arch, version: version})
	}
}

// parseApkInstalled reads Alpine's /lib/apk/db/installed: stanzas of
// single-letter fields, P: the package name, V: its version, A: its arch.
func parseApkInstalled(data []byte) ([]pkg, error) {
	var out []pkg
	var cur pkg
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		text := sc.Text()
		if text == "" {
			if cur.name != "" {
				out = append(out, cur)
			}
			cur = pkg{}
			continue
		}
		if len(text) < 2 || text[1] != ':' {
			continue // apk's format has no continuation lines; skip what it would not write
		}
		switch text[0] {
		case 'P':
			cur.name = text[2:]
		case 'V':
			cur.version = text[2:]
		case 'A':
			cur.arch = text[2:]
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if cur.name != "" {
		out = append(out, cur)
	}
	return out, nil
}

// findPkg returns the version of the installed package named name for Debian
// architecture arch ("all" and an unnamed architecture also match), or, when
// no stanza names that architecture (apk spells them its own way), of the
// only package of that name; else "".
func findPkg(pkgs []pkg, name, arch string) string {
	var only []pkg
	for _, p := range pkgs {
		if p.name != name {
			continue
		}
		if p.arch == arch || p.arch == "all" || p.arch == "" {
			return p.version
		}
		only = append(only, p)
	}
	if len(only) == 1 {
		return only[0].version
	}
	return ""
}

// upstreamVersion strips a Debian or Alpine version down to its upstream
// part: "1:2.36-9+deb12u4" → "2.36", "1.2.4-r2" → "1.2.4".
func upstreamVersion(v string) string {
	if i := strings.IndexByte(v, ':'); i >= 0 && isDigits(v[:i]) {
		v = v[i+1:]
	}
	if i := strings.LastIndexByte(v, '-'); i >= 0 {
		v = v[:i]
	}
	return v
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// parseOSRelease reads os-release(5): KEY=value lines, values optionally
// quoted with shell-style escapes. As the format requires, lines that do not
// parse are ignored.
func parseOSRelease(data []byte) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok || !validKey(key) {
			continue
		}
		v, ok := unquote(value)
		if !ok {
			continue
		}
		out[key] = v
	}
	return out
}

func validKey(k string) bool {
	if k == "" {
		return false
	}
	for i, c := range k {
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// unquote undoes the shell quoting os-release allows: "…" with \" \\ \$ \`
// escapes, '…' literally, or a bare word.
func unquote(v string) (string, bool) {
	if v == "" {
		return "", true
	}
	switch q := v[0]; q {
	case '\'':
		if len(v) < 2 || v[len(v)-1] != q || strings.IndexByte(v[1:len(v)-1], q) >= 0 {
			return "", false
		}
		return v[1 : len(v)-1], true
	case '"':
		var b strings.Builder
		for i := 1; i < len(v); i++ {
			c := v[i]
			switch {
			case c == '\\' && i+1 < len(v) && strings.IndexByte("\"\\$`", v[i+1]) >= 0:
				i++
				b.WriteByte(v[i])
			case c == '"':
				if i != len(v)-1 {
					return "", false
				}
				return b.String(), true
			default:
				b.WriteByte(c)
			}
		}
		return "", false // unterminated
	}
	if strings.ContainsAny(v, " \t\"'\\$`") {
		return "", false
	}
	return v, true
}
