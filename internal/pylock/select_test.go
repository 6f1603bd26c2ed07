package pylock

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kiln-build/kiln/internal/marker"
	"github.com/kiln-build/kiln/internal/tags"
	"github.com/kiln-build/kiln/internal/wheel"
)

func linux(t *testing.T, python, arch string) marker.Env {
	t.Helper()
	env, err := marker.LinuxCPython(python, arch)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func selected(ps []*Package) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Name)
	}
	return out
}

func TestSelectUVExport(t *testing.T) {
	l := load(t, "pylock.uv.toml")
	for _, tc := range []struct {
		arch  string
		names []string
		// the wheel the target installs, chosen offline among the listed ones
		best map[string]string
	}{
		{"x86_64",
			[]string{"anyio", "greenlet", "idna", "markupsafe", "sniffio", "triton", "uvloop"},
			map[string]string{
				"greenlet":   "greenlet-3.1.1-cp312-cp312-manylinux_2_24_x86_64.manylinux_2_28_x86_64.whl",
				"markupsafe": "markupsafe-3.0.2-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
				"triton":     "triton-3.1.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
				"anyio":      "anyio-4.8.0-py3-none-any.whl",
			}},
		{"aarch64",
			[]string{"anyio", "greenlet", "idna", "markupsafe", "sniffio", "uvloop"},
			map[string]string{
				"greenlet":   "greenlet-3.1.1-cp312-cp312-manylinux_2_17_aarch64.manylinux2014_aarch64.whl",
				"markupsafe": "markupsafe-3.0.2-cp312-cp312-manylinux_2_17_aarch64.manylinux2014_aarch64.whl",
				"uvloop":     "uvloop-0.21.0-cp312-cp312-manylinux_2_17_aarch64.manylinux2014_aarch64.whl",
			}},
	} {
		t.Run(tc.arch, func(t *testing.T) {
			// The project's own entry is a directory: the build installs it
			// as the application and skips it here.
			sel, err := l.Select(SelectOptions{Env: linux(t, "3.12.8", tc.arch), Skip: []string{"WebShop"}})
			if err != nil {
				t.Fatal(err)
			}
			if got := selected(sel); !slices.Equal(got, tc.names) {
				t.Errorf("selected %v, want %v", got, tc.names)
			}
			target := tags.Target{PythonMinor: "3.12", Arch: tc.arch, Libc: "glibc", LibcVersion: "2.36"}
			for _, p := range sel {
				want, ok := tc.best[p.Name]
				if !ok {
					continue
				}
				var files []string
				for _, w := range p.Wheels {
					files = append(files, w.Filename)
				}
				i, err := wheel.Best(files, target)
				if err != nil {
					t.Fatalf("%s: %v", p.Name, err)
				}
				if files[i] != want {
					t.Errorf("%s: best wheel %s, want %s", p.Name, files[i], want)
				}
			}
		})
	}

	_, err := l.Select(SelectOptions{Env: linux(t, "3.12.8", "x86_64")})
	if err == nil || !strings.Contains(err.Error(), "package webshop") || !strings.Contains(err.Error(), "directory .") ||
		!strings.Contains(err.Error(), "wheels only") {
		t.Errorf("project directory selected without Skip: %v", err)
	}
}

func TestSelectMultiUse(t *testing.T) {
	l := load(t, "pylock.multiuse.toml")
	x86 := linux(t, "3.12.8", "x86_64")
	for _, tc := range []struct {
		name   string
		opts   SelectOptions
		want   []string
		errHas []string
	}{
		{"default groups", SelectOptions{Env: x86}, []string{"flask", "werkzeug", "acme-internal"}, nil},
		{"extras", SelectOptions{Env: x86, Extras: []string{"Postgres", "redis"}},
			[]string{"flask", "werkzeug", "psycopg-binary", "redis", "acme-internal"}, nil},
		{"groups replace the default", SelectOptions{Env: x86, Groups: []string{"dev"}}, []string{"pytest"}, nil},
		{"default and dev", SelectOptions{Env: x86, Groups: []string{"default", "dev"}, Extras: []string{"redis"}},
			[]string{"flask", "werkzeug", "redis", "acme-internal", "pytest"}, nil},
		{"no groups", SelectOptions{Env: x86, Groups: []string{}}, nil, nil},
		{"dev on 3.11 leaves tomli out", SelectOptions{Env: linux(t, "3.11.2", "aarch64"), Groups: []string{"dev"}}, []string{"pytest"}, nil},
		{"docs group is a vcs checkout", SelectOptions{Env: x86, Groups: []string{"docs"}}, nil,
			[]string{"pylock.multiuse.toml", "package docs-theme", "https://github.com/acme/docs-theme.git", "wheels only"}},
		{"unknown extra", SelectOptions{Env: x86, Extras: []string{"mysql"}}, nil,
			[]string{"pylock.multiuse.toml", `extra "mysql"`, "postgres, redis"}},
		{"unknown group", SelectOptions{Env: x86, Groups: []string{"test"}}, nil,
			[]string{"pylock.multiuse.toml", `dependency group "test"`, "dev, docs, default"}},
		{"python below requires-python", SelectOptions{Env: linux(t, "3.10.12", "x86_64")}, nil,
			[]string{"pylock.multiuse.toml", "requires-python >=3.11", "3.10.12"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sel, err := l.Select(tc.opts)
			if tc.errHas != nil {
				if err == nil {
					t.Fatalf("selected %v, want an error", selected(sel))
				}
				for _, w := range tc.errHas {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not mention %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := selected(sel); !slices.Equal(got, tc.want) {
				t.Errorf("selected %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSelectEnvironments(t *testing.T) {
	l := load(t, "pylock.multiuse.toml")
	env := linux(t, "3.12.8", "x86_64")
	env.SysPlatform = "win32"
	_, err := l.Select(SelectOptions{Env: env})
	if err == nil || !strings.Contains(err.Error(), "none of the lock's environments") || !strings.Contains(err.Error(), "sys_platform == 'darwin'") {
		t.Errorf("win32 target: %v", err)
	}
}

func TestSelectErrors(t *testing.T) {
	for _, tc := range []struct {
		file, arch string
		want       []string // "" = selects
	}{
		{"bad-duplicate.toml", "x86_64", nil},
		{"bad-duplicate.toml", "aarch64", []string{"bad-duplicate.toml", "idna 3.10", "idna 3.7", "sys_platform == 'linux'", "platform_machine == 'aarch64'"}},
		{"bad-requires-python.toml", "x86_64", []string{"bad-requires-python.toml", "package numpy 2.3.0", "requires Python >=3.13", "3.12.8"}},
		{"bad-vcs.toml", "aarch64", []string{"bad-vcs.toml", "package acme-client", "acme-client.git", "kiln installs wheels only"}},
		{"bad-sdist-only.toml", "x86_64", []string{"bad-sdist-only.toml", "package pyyaml-include 2.2", "only an sdist (pyyaml_include-2.2.tar.gz)", "wheels only"}},
	} {
		t.Run(tc.file+"/"+tc.arch, func(t *testing.T) {
			l := load(t, tc.file)
			sel, err := l.Select(SelectOptions{Env: linux(t, "3.12.8", tc.arch)})
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				if len(sel) != 1 || sel[0].Version != "3.10" {
					t.Errorf("selected %+v", sel)
				}
				return
			}
			if err == nil {
				t.Fatalf("selected %v", selected(sel))
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// A Lock built or edited in code gets the same checks as a parsed one.
func TestSelectCheckedLock(t *testing.T) {
	l := load(t, "pylock.uv.toml")
	env := linux(t, "3.12.8", "x86_64")

	l2 := *l
	l2.LockVersion = "2.1"
	if _, err := l2.Select(SelectOptions{Env: env}); err == nil || !strings.Contains(err.Error(), "unsupported lock-version 2.1") {
		t.Errorf("version 2.1: %v", err)
	}
	l2 = *l
	l2.RequiresPython = ">=3.13"
	if _, err := l2.Select(SelectOptions{Env: env, Skip: []string{"webshop"}}); err == nil || !strings.Contains(err.Error(), filepath.Join("testdata", "pylock.uv.toml")+": requires-python >=3.13 excludes") {
		t.Errorf("requires-python: %v", err)
	}
	l2 = *l
	l2.Packages = append([]*Package{{Name: "broken", Marker: "python_version ~= 'x'", Kind: KindWheels}}, l.Packages...)
	if _, err := l2.Select(SelectOptions{Env: env}); err == nil || !strings.Contains(err.Error(), "package broken") {
		t.Errorf("bad marker: %v", err)
	}
	if _, err := l.Select(SelectOptions{Env: env, Extras: []string{"cli"}}); err == nil || !strings.Contains(err.Error(), "single-use") {
		t.Errorf("extra on a single-use lock: %v", err)
	}
}
