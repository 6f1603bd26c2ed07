package debinstall

import (
	"errors"
	"fmt"

	"github.com/kiln-build/kiln/internal/layer"
)

// extraLibDirs are the architecture-specific library directories that
// debootstrap's setup_merged_usr links into /usr besides bin, sbin and lib.
var extraLibDirs = map[string][]string{
	"amd64":    {"lib32", "lib64", "libx32"},
	"i386":     {"lib64", "libx32"},
	"mips64el": {"lib32", "lib64", "libo32"},
	"ppc64el":  {"lib64"},
	"s390x":    {"lib32"},
}

// MergedUsr gives tree the merged-/usr layout debootstrap makes for arch:
// bin, sbin and lib (and lib32, lib64, libx32 on amd64) are symlinks to
// usr/bin, usr/sbin, ... and those directories exist. Links already there
// are kept; anything else at those paths is an error, and leaves tree as it
// was.
func MergedUsr(tree *layer.Tree, arch string) error {
	if arch == "" {
		return errors.New("merged-/usr: no architecture")
	}
	dirs := append([]string{"bin", "sbin", "lib"}, extraLibDirs[arch]...)
	have := map[string]*layer.Entry{}
	for _, e := range tree.Entries() { // implicit directories included
		have[e.Path] = e
	}
	if e, ok := have["usr"]; ok && e.Kind != layer.Dir {
		return errors.New("merged-/usr: /usr is already in the tree and is not a directory")
	}
	for _, d := range dirs {
		if e, ok := have[d]; ok && (e.Kind != layer.Symlink || e.Target != "usr/"+d) {
			return fmt.Errorf("merged-/usr: /%s is already in the tree and is not a symlink to usr/%s", d, d)
		}
		if e, ok := have["usr/"+d]; ok && e.Kind != layer.Dir {
			return fmt.Errorf("merged-/usr: /usr/%s is already in the tree and is not a directory", d)
		}
	}
	for _, d := range dirs {
		if _, ok := tree.Get("usr/" + d); !ok {
			if err := tree.AddDir("usr/"+d, 0o755); err != nil {
				return fmt.Errorf("merged-/usr: %w", err)
			}
		}
		if _, ok := tree.Get(d); !ok {
			if err := tree.AddSymlink(d, "usr/"+d); err != nil {
				return fmt.Errorf("merged-/usr: %w", err)
			}
		}
	}
	return nil
}
