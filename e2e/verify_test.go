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

// dockerBuild builds dir with docker build over the test base, loaded into
// the engine, and returns the image's name; it is removed after the test.
func dockerBuild(t *testing.T, name, dir string) string {
	t.Helper()
	requireDocker(t)
	docker(t, "load", "-i", testbase.DockerArchive(t))
	image := uniqueName(name) + ":test"
	t.Cleanup(func() { run("docker", "rmi", "-f", image) })
	docker(t, "build", "-q", "-t", image, dir)
	return image
}

// TestVerifyCatchesDefects: an image built by docker build from a
// Dockerfile in testdata, over the same base, fails with each defect named.
func TestVerifyCatchesDefects(t *testing.T) {
	image := dockerBuild(t, "kiln-e2e-bad", "testdata/verify-bad")
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
	image := dockerBuild(t, "kiln-e2e-slow", "testdata/verify-bad")
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

// TestVerifyNoCommandAndConfig: an image with no command fails, and a config
// file's budgets and severities change what fails.
func TestVerifyNoCommandAndConfig(t *testing.T) {
	image := dockerBuild(t, "kiln-e2e-nocmd", "testdata/verify-nocmd")
	f := &fixture{cache: t.TempDir()}

	r := f.kiln(t, nil, "verify", "docker-daemon:"+image, "--json")
	if r.code != 1 || !strings.Contains(r.stdout, "no CMD or ENTRYPOINT") {
		t.Fatalf("exit %d, want 1 naming the missing command:\n%s%s", r.code, r.stdout, r.stderr)
	}

	config := filepath.Join(t.TempDir(), "verify.toml")
	write := func(s string) {
		if err := os.WriteFile(config, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(`max-image-size = "1 MiB"
severity = { command = "warning", base-pinned = "off", healthcheck = "off" }
`)
	r = f.kiln(t, nil, "verify", "docker-daemon:"+image, "--json", "--config", config)
	for _, want := range []string{
		`"check": "size",` + "\n" + `    "status": "fail",` + "\n" + `    "detail": "`, "exceeds the budget of 1.0 MiB",
		`"check": "command",` + "\n" + `    "status": "warn"`,
		`"check": "healthcheck",` + "\n" + `    "status": "skip",` + "\n" + `    "detail": "disabled by config"`,
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("with %s: output lacks %q:\n%s", config, want, r.stdout)
		}
	}
	if r.code != 1 {
		t.Errorf("over budget: exit %d, want 1", r.code)
	}

	write(`severity = { command = "warning", base-pinned = "off", healthcheck = "off" }`)
	if r = f.kiln(t, nil, "verify", "docker-daemon:"+image, "--config", config); r.code != 0 {
		t.Errorf("with the failing checks at warning or off: exit %d, want 0:\n%s%s", r.code, r.stdout, r.stderr)
	}

	write(`severity = { comand = "off" }`)
	if r = f.kiln(t, nil, "verify", "docker-daemon:"+image, "--config", config); r.code != 2 ||
		!strings.Contains(r.stderr, config) || !strings.Contains(r.stderr, `unknown check "comand"`) {
		t.Errorf("misspelt check: exit %d, want 2 naming the file and the check:\n%s", r.code, r.stderr)
	}
}

// TestVerifyProjectDevGroup: with the project at hand, what only its dev
// group installs is a dev package, though no built-in list names it.
func TestVerifyProjectDevGroup(t *testing.T) {
	f := newFixture(t)
	out := t.TempDir()
	f.mustBuild(t, "--platform", "linux/amd64", "--group", "dev", "--output", "oci:"+out+":1")

	r := f.kiln(t, nil, "verify", "oci:"+out+":1", "--json")
	if r.code != 0 {
		t.Fatalf("without the project: exit %d, want 0 (kiln-dev-tool is on no built-in list):\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = f.kiln(t, nil, "verify", "oci:"+out+":1", "--json", "--config", filepath.Join(f.dir, "pyproject.toml"))
	if r.code != 1 || !strings.Contains(r.stdout, `"check": "dev-packages",`+"\n"+`    "status": "fail"`) || !strings.Contains(r.stdout, "kiln-dev-tool") {
		t.Fatalf("with the project: exit %d, want 1 naming kiln-dev-tool:\n%s%s", r.code, r.stdout, r.stderr)
	}
	// [tool.kiln.verify] in the project accepts it.
	pyproject := filepath.Join(f.dir, "pyproject.toml")
	data, _ := os.ReadFile(pyproject)
	os.WriteFile(pyproject, append(data, []byte("\n[tool.kiln.verify]\nallow = [\"dev-packages:kiln-dev-tool\"]\n")...), 0o644)
	if r = f.kiln(t, nil, "verify", "oci:"+out+":1", "--config", f.dir); r.code != 0 {
		t.Fatalf("with the exception in [tool.kiln.verify]: exit %d, want 0:\n%s%s", r.code, r.stdout, r.stderr)
	}
}
