package e2e

import (
	"os"
	osexec "os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kiln-build/kiln/internal/testbase"
)

// TestVerifyKilnImage: kiln's own example passes every static check.
func TestVerifyKilnImage(t *testing.T) {
	f := newFixture(t)
	out := t.TempDir()
	f.mustBuild(t, "--platform", "linux/amd64", "--output", "oci:"+out+":1")
	junit := filepath.Join(t.TempDir(), "verify.xml")
	requireDocker(t)
	r := f.kiln(t, nil, "verify", "oci:"+out+":1", "--junit", junit, "--run")
	if r.code != 0 {
		t.Fatalf("kiln verify of kiln's image exited %d:\n%s%s", r.code, r.stdout, r.stderr)
	}
	data, err := os.ReadFile(junit)
	if err != nil || !strings.Contains(string(data), `failures="0"`) || !strings.Contains(string(data), `name="shared-libraries"`) || !strings.Contains(string(data), `name="run-sigterm"`) {
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
	r := f.kiln(t, nil, "verify", "docker-daemon:"+image, "--json", "--run", "--grace", "3s", "--required-env", "DATABASE_URL", "--command", "test -e /etc/nginx/nginx.conf")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1:\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		`"check": "non-root",` + "\n" + `    "status": "fail"`,
		"root/.ssh/id_ed25519",
		"pytest",
		`"check": "healthcheck",` + "\n" + `    "status": "warn"`,
		`"check": "run-user",` + "\n" + `    "status": "fail"`,
		`"check": "run-sigterm",` + "\n" + `    "status": "fail"`,
		`"check": "run-required-env",` + "\n" + `    "status": "fail"`,
		`"check": "run-command",` + "\n" + `    "status": "fail"`,
		"libsqlite3.so.0",
		"main process uid 0", // the process was really running as root, not failing to start
		"exit code 137",      // killed after the grace period: SIGTERM was ignored
		"DATABASE_URL: still running",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("verify output lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ") {
		t.Error("the key's content is in the report")
	}
}

// TestVerifyRunInterruptedLeavesNoContainer: kiln removes what it started
// even when it is interrupted mid-check.
func TestVerifyRunInterruptedLeavesNoContainer(t *testing.T) {
	requireDocker(t)
	docker(t, "load", "-i", testbase.DockerArchive(t))
	image := uniqueName("kiln-e2e-slow") + ":test"
	t.Cleanup(func() { run("docker", "rmi", "-f", image) })
	docker(t, "build", "-q", "-t", image, "testdata/verify-bad")
	cmd := osexec.Command(kilnBin, "verify", "docker-daemon:"+image, "--run", "--port", "8000", "--health-path", "/never-200")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) && docker(t, "ps", "-q", "--filter", "label=dev.kiln.verify=1") == "" {
		time.Sleep(200 * time.Millisecond)
	}
	if docker(t, "ps", "-q", "--filter", "label=dev.kiln.verify=1") == "" {
		t.Fatal("kiln verify --run never started a container")
	}
	cmd.Process.Signal(os.Interrupt)
	cmd.Wait()
	if left := docker(t, "ps", "-aq", "--filter", "label=dev.kiln.verify=1"); left != "" {
		run("docker", "rm", "-f", left)
		t.Fatalf("containers left behind after the interrupt: %s", left)
	}
}
