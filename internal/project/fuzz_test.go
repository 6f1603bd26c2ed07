package project

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad: Load never panics on arbitrary pyproject.toml bytes, and what it
// accepts is usable.
func FuzzLoad(f *testing.F) {
	for _, dir := range []string{"flat", "src", "django", "full-config", "unknown-key", "wrong-type", "script-only"} {
		data, err := os.ReadFile(filepath.Join("testdata", dir, "pyproject.toml"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("[project]\nname = \"x\"\n[tool.kiln]\nhealthcheck = { path = \"/\", retries = -1 }\nuser = 3\n"))
	f.Add([]byte("[project]\nname = \"x\"\n[tool.kiln.env]\nA = [1]\n[tool.uv]\ndefault-groups = [1]\n"))
	f.Add([]byte("project = { name = \"x\", scripts = { a = \"b:c\" }, version = 1 }"))
	f.Add([]byte("\xef\xbb\xbf[project]\nname = 'x'\n"))
	dir := f.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "app.py"), []byte("app = Flask(__name__)\n"), 0o644); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(filepath.Join(dir, pyprojectFile), data, 0o644); err != nil {
			t.Fatal(err)
		}
		p, err := Load(dir)
		if err != nil {
			return
		}
		if p.Name == "" || p.NormalizedName == "" {
			t.Fatalf("accepted a project without a name: %q", data)
		}
		if err := p.Config.Validate(); err != nil {
			t.Fatalf("Load accepted a config that Validate refuses: %v", err)
		}
		if _, _, err := InferCommand(p, map[string]bool{"gunicorn": true}, 0); err != nil && len(p.Config.Command) > 0 {
			t.Fatalf("configured command, yet InferCommand failed: %v", err)
		}
	})
}

// FuzzSet: Set never panics, and a value it accepts leaves a config that
// only fails Validate for a healthcheck without a path.
func FuzzSet(f *testing.F) {
	for _, k := range Keys() {
		f.Add(k.Name, "")
		f.Add(k.Name, "a=b,c")
	}
	f.Add("command", `["a", "b"]`)
	f.Add("healthcheck", "path=/x,interval=1h,retries=2")
	f.Add("user", "uid=1,gid=2,name=x")
	f.Add("port", "65536")
	f.Fuzz(func(t *testing.T, key, value string) {
		c := Config{User: DefaultUser}
		if err := c.Set(key, value); err != nil {
			return
		}
		if c.Healthcheck != nil && c.Healthcheck.Path != "" {
			if err := c.Validate(); err != nil {
				t.Fatalf("Set(%q, %q) accepted, Validate: %v", key, value, err)
			}
		}
		if c.User.UID <= 0 || c.User.GID <= 0 || c.User.Name == "" {
			t.Fatalf("Set(%q, %q) left user %+v", key, value, c.User)
		}
	})
}
