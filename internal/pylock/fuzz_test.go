package pylock

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kiln-build/kiln/internal/marker"
)

func FuzzParseSelect(f *testing.F) {
	seeds, err := filepath.Glob(filepath.Join("testdata", "*.toml"))
	if err != nil || len(seeds) == 0 {
		f.Fatalf("no seeds: %v", err)
	}
	for _, s := range seeds {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("lock-version = \"1.0\"\ncreated-by = \"x\"\npackages = []\n"))
	var envs []marker.Env
	for _, arch := range []string{"x86_64", "aarch64"} {
		env, err := marker.LinuxCPython("3.12.8", arch)
		if err != nil {
			f.Fatal(err)
		}
		envs = append(envs, env)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := Parse("fuzz.toml", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.toml") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		for _, env := range envs {
			// Every extra and group the lock offers, so that markers
			// testing them take both branches across inputs.
			for _, opts := range []SelectOptions{
				{Env: env},
				{Env: env, Extras: l.Extras, Groups: append(append([]string{}, l.DependencyGroups...), l.DefaultGroups...)},
			} {
				sel, err := l.Select(opts)
				if err != nil {
					continue
				}
				seen := map[string]bool{}
				for _, p := range sel {
					if seen[p.Name] {
						t.Fatalf("%s selected twice", p.Name)
					}
					seen[p.Name] = true
					if len(p.Wheels) == 0 {
						t.Fatalf("%s selected without wheels", p.Name)
					}
					for _, w := range p.Wheels {
						if len(w.Hash) != len("sha256:")+64 || !strings.HasPrefix(w.Hash, "sha256:") {
							t.Fatalf("%s: wheel %s has hash %q", p.Name, w.Filename, w.Hash)
						}
						if w.Filename == "" || strings.ContainsAny(w.Filename, "/\\") {
							t.Fatalf("%s: wheel file name %q", p.Name, w.Filename)
						}
					}
				}
			}
		}
	})
}
