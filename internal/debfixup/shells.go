package debfixup

import (
	"path"
	"strings"
)

const (
	shellsTemplate = "/usr/share/debianutils/shells"
	shellsD        = "/usr/share/debianutils/shells.d"
	shellsState    = "/var/lib/shells.state"
)

// shells replicates debianutils' postinst and its shells.d trigger, both of
// which run update-shells: /etc/shells keeps its comments, packaged shells
// and local additions, and gains every packaged shell (from the template and
// shells.d, each also under its resolved directory, /usr/bin/sh for /bin/sh
// on merged /usr) that is neither there nor was removed locally; the state
// file records the packaged shells for the next run.
func shells(s *state) (string, error) {
	v := s.v
	if !s.installed["debianutils"] || !(s.has("debianutils", shellsTemplate) || v.treeUnder(shellsD)) {
		return "", nil
	}
	src, ok := v.readFile("/etc/shells")
	if !ok {
		if src, ok = v.readFile(shellsTemplate); !ok {
			return "", nil
		}
	}
	var packaged []string
	for _, f := range append([]string{shellsTemplate}, v.glob(shellsD+"/*")...) {
		data, ok := v.readFile(f)
		if !ok {
			continue
		}
		for _, line := range lines(data) {
			line, _, _ = strings.Cut(line, "#")
			if line == "" {
				continue
			}
			packaged = append(packaged, line)
			if real := path.Join(v.resolve(path.Dir(line)), path.Base(line)); real != line {
				packaged = append(packaged, real)
			}
		}
	}
	oldState, _ := v.readFile(shellsState)
	// The shells packaged at the last run: one of them missing from
	// /etc/shells was removed locally and stays removed.
	before := map[string]bool{}
	for _, line := range lines(oldState) {
		if line, _, _ = strings.Cut(line, "#"); line != "" {
			before[line] = true
		}
	}
	isPackaged := map[string]bool{}
	for _, p := range packaged {
		isPackaged[p] = true
	}
	var out strings.Builder
	listed := map[string]bool{}
	for _, line := range lines(src) {
		shell, _, _ := strings.Cut(line, "#")
		if shell != "" && !isPackaged[shell] && before[shell] {
			continue // a packaged shell whose package is gone
		}
		if shell == "" || !listed[shell] {
			out.WriteString(line + "\n")
			listed[shell] = true
		}
	}
	var state strings.Builder
	for _, p := range packaged {
		state.WriteString(p + "\n")
		if !listed[p] && !before[p] {
			out.WriteString(p + "\n")
		}
	}
	if err := v.writeFile("/etc/shells", 0o644, 0, 0, []byte(out.String())); err != nil {
		return "", err
	}
	if err := v.writeFile(shellsState, 0o644, 0, 0, []byte(state.String())); err != nil {
		return "", err
	}
	return "debianutils: /etc/shells, " + shellsState, nil
}

// lines splits a text file into its lines, without the newlines.
func lines(data []byte) []string {
	s := strings.TrimSuffix(string(data), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}
