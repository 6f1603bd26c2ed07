package verify

import (
	"archive/tar"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/kiln-build/kiln/internal/testbase"
)

// TestDebianBase runs the checks on the real debootstrap base, which runs
// as root, and on an app image over it that passes every check.
func TestDebianBase(t *testing.T) {
	if testing.Short() {
		t.Skip("reads the whole base image")
	}
	base := testbase.Image(t, "amd64")
	rs := run(t, base, Config{})
	want(t, rs, "non-root", StatusFail, "no USER")
	want(t, rs, "command", StatusPass, "python3")
	want(t, rs, "shared-libraries", StatusPass)
	want(t, rs, "secrets", StatusPass)
	want(t, rs, "dev-packages", StatusPass)
	want(t, rs, "toolchain", StatusPass)
	want(t, rs, "base-pinned", StatusFail)

	app, err := mutate.AppendLayers(base, layer(t,
		file{name: "app/", typ: tar.TypeDir, mode: 0o755},
		file{name: "app/main.py", body: "print('hi')\n"},
		file{name: "app/.venv/lib/python3.11/site-packages/flask-3.0.dist-info/METADATA", body: "Name: flask\n"},
	))
	if err != nil {
		t.Fatal(err)
	}
	cf, err := app.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	c.User = "nobody"
	c.Cmd = []string{"/usr/bin/python3", "/app/main.py"}
	c.WorkingDir = "/app"
	c.Healthcheck = &v1.HealthConfig{Test: []string{"CMD", "/usr/bin/python3", "-c", "1"}}
	c.Labels = map[string]string{baseDigest: "sha256:0"}
	if app, err = mutate.Config(app, c); err != nil {
		t.Fatal(err)
	}
	for _, r := range run(t, app, Config{}) {
		if r.Status != StatusPass {
			t.Errorf("%s: %s: %s", r.Check, r.Status, r.Detail)
		}
	}
}
