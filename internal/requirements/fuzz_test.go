package requirements

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kiln-build/kiln/internal/marker"
	"github.com/kiln-build/kiln/internal/pyname"
)

func FuzzParse(f *testing.F) {
	seeds, err := filepath.Glob(filepath.Join("testdata", "*", "*.txt"))
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
	for _, s := range []string{
		"-r common.txt\n-c c.txt\nsix==1.16.0 --hash=sha256:" + hashA + "\n",
		"-r requirements.txt\n",
		"a==1 ; python_version < '3.11' \\\n  --hash=sha256:" + hashA + " \\\n  # c\n",
		"--only-binary :all:,:none:,a\n--no-binary=b\n-i https://u:${KILN_FUZZ}@x/simple\n",
		"a[b, c] (==1.0) ; extra == 'x' --hash \"sha256:" + hashB + "\" -C k=v\n",
		"\xff\xfea\x00=\x00=\x001\x00",
	} {
		f.Add([]byte(s))
	}
	envs := []marker.Env{}
	for _, v := range []string{"3.10.14", "3.12.8"} {
		e, err := marker.LinuxCPython(v, "arm64")
		if err != nil {
			f.Fatal(err)
		}
		envs = append(envs, e)
	}
	// One directory for every input, so that an execution costs one write:
	// minimising a large input takes many.
	dir := f.TempDir()
	for name, content := range map[string]string{
		"common.txt": "six==1.16.0 --hash=sha256:" + hashA + "\n-r requirements.txt\n",
		"c.txt":      "six==1.16 --hash=sha256:" + hashA + "\nurllib3==2\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			f.Fatal(err)
		}
	}
	path := filepath.Join(dir, "requirements.txt")
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		file, err := Parse(path)
		if err != nil {
			return
		}
		for _, r := range file.Requirements {
			if r.Name == "" || r.Name != pyname.Normalize(r.Name) || r.Version == "" || r.Line < 1 || r.File == "" {
				t.Fatalf("bad requirement %+v", r)
			}
			if !r.Constraint && len(r.Hashes) == 0 {
				t.Fatalf("%s without hashes", r.Name)
			}
			for _, h := range r.Hashes {
				if len(h) != len("sha256:")+64 || !strings.HasPrefix(h, "sha256:") {
					t.Fatalf("%s: hash %q", r.Name, h)
				}
			}
			if _, err := marker.Parse(r.Marker); err != nil {
				t.Fatalf("%s: marker %q kept: %v", r.Name, r.Marker, err)
			}
		}
		for _, e := range envs {
			sel, err := file.Select(e)
			if err != nil {
				continue
			}
			seen := map[string]bool{}
			for _, r := range sel {
				if seen[r.Name] || r.Constraint || len(r.Hashes) == 0 {
					t.Fatalf("selected %+v", sel)
				}
				seen[r.Name] = true
			}
		}
	})
}

func FuzzRedact(f *testing.F) {
	f.Add("user", "pass")
	f.Add("__token__", "pypi-AgEI/x@y#z?w")
	f.Fuzz(func(t *testing.T, user, password string) {
		if strings.ContainsAny(user, ":/@ \t\r\n\"'<>`") || strings.ContainsAny(password, " \t\r\n\"'<>`") || strings.Contains(":"+password, "://") {
			// A "://" starts another URL, redacted on its own.
			return
		}
		want := "https://" + user + ":****@host/simple/"
		if got := Redact("https://" + user + ":" + password + "@host/simple/"); got != want {
			t.Fatalf("Redact = %q, want %q", got, want)
		}
		if got := Redact(want); got != want {
			t.Fatalf("Redact is not idempotent: %q", got)
		}
	})
}
