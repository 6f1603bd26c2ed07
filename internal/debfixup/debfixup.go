// Package debfixup writes into a layer what the maintainer scripts of
// freshly unpacked Debian packages would have done, for a runtime image,
// without running any of them: accounts, the CA bundle, the time zone,
// alternatives, base-files' directories, service recipes (nginx).
//
// Each effect belongs to a package and runs only when that package is
// installed and its files are in the new tree (so it was unpacked now), or,
// for a trigger, when the new tree touches what the trigger watches. Effects
// read the tree over the base, as the scripts would see the root, and never
// repeat what the base already has. What the scripts of the known packages
// do beyond that is listed in Report.NotReplicated.
package debfixup

import (
	"fmt"
	"io/fs"
	"sort"

	"github.com/kiln-build/kiln/internal/layer"
)

// Options are the answers the scripts would have asked debconf for.
type Options struct {
	Timezone string // tzdata's area/zone, default "Etc/UTC"
}

// Report says what Apply did.
type Report struct {
	Applied []string // one line per effect applied ("tzdata: /etc/localtime -> …"), in order
	// NotReplicated maps an installed package to what its scripts do that
	// kiln skips, for the documentation.
	NotReplicated map[string][]string
}

type state struct {
	v         *view
	installed map[string]bool
	opts      Options
}

// effect replicates one package's script (or trigger) effect; it returns
// what it did, or "" when it had nothing to do.
type effect struct {
	name string
	run  func(*state) (string, error)
}

// effects run in this order: accounts come first because later effects
// resolve owners by name.
var effects = []effect{
	{"base-passwd", accounts},
	{"base-files", baseFiles},
	{"ca-certificates", caCertificates},
	{"tzdata", tzdata},
	{"libc-bin", nsswitch},
	{"debianutils", shells},
	{"alternatives", alternatives},
	{"readline-common", inputrc},
	{"python", python},
	{"nginx", nginx},
}

// Apply writes the effects into tree. base is the filesystem below it (nil
// for none) and installed every package installed once the tree is applied,
// base packages included.
func Apply(tree *layer.Tree, base Files, installed []string, opts Options) (*Report, error) {
	if opts.Timezone == "" {
		opts.Timezone = "Etc/UTC"
	}
	s := &state{installed: map[string]bool{}, opts: opts}
	for _, p := range installed {
		s.installed[p] = true
	}
	s.v = newView(tree, base, s.installed["usr-is-merged"] || s.installed["usrmerge"])
	r := &Report{NotReplicated: notReplicated(installed)}
	for _, e := range effects {
		what, err := e.run(s)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e.name, err)
		}
		if what != "" {
			r.Applied = append(r.Applied, what)
		}
	}
	return r, nil
}

// has reports whether pkg is installed and was unpacked into the new tree,
// judged by a path it ships.
func (s *state) has(pkg, shipped string) bool {
	return s.installed[pkg] && s.v.inTree(shipped)
}

// sortedInstalled lists the installed packages in a stable order.
func (s *state) sortedInstalled() []string {
	out := make([]string, 0, len(s.installed))
	for p := range s.installed {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// fileMode turns a chmod-style mode (0o2775) into an fs.FileMode.
func fileMode(m uint32) fs.FileMode {
	mode := fs.FileMode(m & 0o777)
	if m&0o4000 != 0 {
		mode |= fs.ModeSetuid
	}
	if m&0o2000 != 0 {
		mode |= fs.ModeSetgid
	}
	if m&0o1000 != 0 {
		mode |= fs.ModeSticky
	}
	return mode
}

// unixMode is the inverse of fileMode.
func unixMode(m fs.FileMode) uint32 {
	mode := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		mode |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		mode |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		mode |= 0o1000
	}
	return mode
}
