package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kiln-build/kiln/internal/testbase"
)

// TestVerifyKilnImage: kiln's own example passes every static check.
func TestVerifyKilnImage(t *testing.T) {
	f := newFixture(t)
	out := t.TempDir()
	f.mustBuild(t, "--platform", "linux/amd64", "--output", "oci:"+out+":1")
	junit := filepath.Join(t.TempDir(), "verify.xml")
	r := f.kiln(t, nil, "verify", "oci:"+out+":1", "--junit", junit)
	if r.code != 0 {
		t.Fatalf("kiln verify of kiln's image exited %d:\n%s%s", r.code, r.stdout, r.stderr)
	}
	data, err := os.ReadFile(junit)
	if err != nil || !strings.Contains(string(data), `failures="0"`) || !strings.Contains(string(data), `name="shared-libraries"`) {
		t.Errorf("junit report:\n%s (%v)", data, err)
	}
}

// TestVerifyCatchesDefects: an image built by docker build from a
// Dockerfile in testdata, over the same base, fails with each defect named.
func TestVerifyCatchesDefects(t *testing.T) {
	requireDocker(t)
	archive := testbase.DockerArchive(t)
	docker(t, "load", "-i", archive)
	image := uniqueName("kiln-e2e-bad") + ":test"
	t.Cleanup(func() { run("docker", "rmi", "-f", image) })
	docker(t, "build", "-q", "-t", image, "testdata/verify-bad")
	f := &fixture{cache: t.TempDir()}
	r := f.kiln(t, nil, "verify", "docker-daemon:"+image, "--json")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1:\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		`"check": "non-root",` + "\n" + `    "status": "fail"`,
		"root/.ssh/id_ed25519",
		"pytest",
		`"check": "healthcheck",` + "\n" + `    "status": "warn"`,
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("verify output lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ") {
		t.Error("the key's content is in the report")
	}
}
