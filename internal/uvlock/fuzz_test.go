package uvlock

import (
	"hash/fnv"
	"os"
	"path/filepath"
	"testing"

	"github.com/kiln-build/kiln/internal/marker"
)

// anyEnv accepts every marker and specifier, answering by a hash of the text
// so that both branches get exercised.
type anyEnv struct{}

func (anyEnv) Matches(m string, extras map[string]bool) (bool, error) {
	h := fnv.New32a()
	h.Write([]byte(m))
	return h.Sum32()%3 != 0 || extras[m], nil
}

func (anyEnv) PythonIn(string) (bool, error) { return true, nil }

func FuzzParseSelect(f *testing.F) {
	seeds, err := filepath.Glob(filepath.Join("testdata", "*", "uv.lock"))
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
	f.Add([]byte(minimal))
	real, err := marker.LinuxCPython("3.12.8", "arm64")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := Parse("fuzz.lock", data)
		if err != nil {
			return
		}
		for _, opts := range []SelectOptions{
			{Env: anyEnv{}},
			{Env: anyEnv{}, AllPackages: true},
			{Env: anyEnv{}, Extras: []string{"cli"}, Groups: []string{"dev"}},
			{Env: real},
		} {
			s, err := l.Select(opts)
			if err != nil {
				continue
			}
			for _, p := range s.ThirdParty {
				if len(p.Wheels) == 0 {
					t.Fatalf("third-party %s selected without wheels", p.Name)
				}
			}
			_ = s.ThirdPartyKey()
		}
	})
}
