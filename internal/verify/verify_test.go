package verify

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// file is one tar entry of a test layer.
type file struct {
	name     string
	body     string
	typ      byte // tar.TypeReg when 0
	mode     int64
	uid, gid int
	link     string
}

func layer(t *testing.T, files ...file) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		h := &tar.Header{Name: f.name, Typeflag: f.typ, Mode: f.mode, Uid: f.uid, Gid: f.gid, Linkname: f.link}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(f.body))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(f.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func hostFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Skipf("host file: %v", err)
	}
	return string(b)
}

const passwdFile = "root:x:0:0:root:/root:/bin/sh\napp:x:1001:1001::/app:/bin/sh\n"

// goodLayers is a minimal image that passes every check: a dynamically
// linked binary with its libraries, a user, an app owned by root.
func goodLayers(t *testing.T) []v1.Layer {
	return []v1.Layer{
		layer(t,
			file{name: "etc/passwd", body: passwdFile},
			file{name: "usr/bin/true", body: hostFile(t, "/usr/bin/true"), mode: 0o755},
			file{name: "lib", typ: tar.TypeSymlink, link: "usr/lib"},
			file{name: "lib64/ld-linux-x86-64.so.2", body: hostFile(t, "/lib64/ld-linux-x86-64.so.2"), mode: 0o755},
			file{name: "usr/lib/x86_64-linux-gnu/libc.so.6", body: hostFile(t, "/lib/x86_64-linux-gnu/libc.so.6"), mode: 0o755},
			file{name: "usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", typ: tar.TypeSymlink, link: "/lib64/ld-linux-x86-64.so.2"},
		),
		layer(t,
			file{name: "app/", typ: tar.TypeDir, mode: 0o755},
			file{name: "app/main.py", body: "print('hi')\n"},
			file{name: "app/.venv/lib/python3.11/site-packages/flask-3.0.dist-info/METADATA", body: "Name: flask\n"},
			file{name: "app/.env.example", body: "DATABASE_URL=\n"},
			file{name: "app/docs.txt", body: "aws example key AKIAIOSFODNN7EXAMPLE\n"},
		),
	}
}

func goodConfig() v1.Config {
	return v1.Config{
		User:        "1001:1001",
		Cmd:         []string{"/usr/bin/true"},
		WorkingDir:  "/app",
		Healthcheck: &v1.HealthConfig{Test: []string{"CMD", "/usr/bin/true"}},
		Env:         []string{"PATH=/usr/bin", "DATABASE_URL="},
		Labels:      map[string]string{baseDigest: "sha256:abc"},
	}
}

func image(t *testing.T, c v1.Config, layers ...v1.Layer) v1.Image {
	t.Helper()
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		t.Fatal(err)
	}
	img, err = mutate.Config(img, c)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func run(t *testing.T, img v1.Image, cfg Config) map[string]Result {
	t.Helper()
	rs, err := Static(img, cfg)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]Result{}
	for i, r := range rs {
		if i > 0 && rs[i-1].Check >= r.Check {
			t.Errorf("results not sorted: %s before %s", rs[i-1].Check, r.Check)
		}
		out[r.Check] = r
	}
	if len(out) != 10 {
		t.Errorf("got %d results, want 10: %v", len(out), rs)
	}
	return out
}

// want asserts the status of check and that its detail mentions every part.
func want(t *testing.T, rs map[string]Result, check, status string, parts ...string) {
	t.Helper()
	r := rs[check]
	if r.Status != status {
		t.Errorf("%s: status %s, want %s (detail %q)", check, r.Status, status, r.Detail)
	}
	for _, p := range parts {
		if !strings.Contains(r.Detail, p) {
			t.Errorf("%s: detail %q does not mention %q", check, r.Detail, p)
		}
	}
}

func TestGoodImagePasses(t *testing.T) {
	rs := run(t, image(t, goodConfig(), goodLayers(t)...), Config{})
	for name, r := range rs {
		if r.Status != StatusPass {
			t.Errorf("%s: %s: %s", name, r.Status, r.Detail)
		}
	}
	want(t, rs, "non-root", StatusPass, "uid 1001 (app)")
	want(t, rs, "shared-libraries", StatusPass, "3 ELF files")
}

func TestNonRoot(t *testing.T) {
	for _, tc := range []struct {
		user, status, msg string
	}{
		{"", StatusFail, "no USER"},
		{"0", StatusFail, "uid 0"},
		{"root", StatusFail, "uid 0"},
		{"0:1001", StatusFail, "uid 0"},
		{"1001:1001", StatusPass, "uid 1001"},
		{"app", StatusPass, "uid 1001"},
		{"1002", StatusFail, "uid 1002 has no entry in /etc/passwd"},
		{"nobody", StatusFail, `"nobody" is not in /etc/passwd`},
	} {
		c := goodConfig()
		c.User = tc.user
		rs := run(t, image(t, c, goodLayers(t)...), Config{})
		want(t, rs, "non-root", tc.status, tc.msg)
	}
}

func TestCommandAndHealthcheck(t *testing.T) {
	c := goodConfig()
	c.Cmd, c.Healthcheck = nil, nil
	rs := run(t, image(t, c, goodLayers(t)...), Config{})
	want(t, rs, "command", StatusFail, "no CMD or ENTRYPOINT")
	want(t, rs, "healthcheck", StatusWarn, "no HEALTHCHECK")

	c.Cmd = []string{"/bin/sh", "-c", "gunicorn app:app"}
	c.Healthcheck = &v1.HealthConfig{Test: []string{"NONE"}}
	rs = run(t, image(t, c, goodLayers(t)...), Config{Severity: map[string]Severity{"healthcheck": SeverityError}})
	want(t, rs, "command", StatusWarn, "shell form", "gunicorn")
	want(t, rs, "healthcheck", StatusFail, "no HEALTHCHECK")

	rs = run(t, image(t, c, goodLayers(t)...), Config{Severity: map[string]Severity{"healthcheck": SeverityOff}})
	want(t, rs, "healthcheck", StatusSkip)
}

func TestDevPackages(t *testing.T) {
	extra := layer(t,
		file{name: "app/.venv/lib/python3.11/site-packages/pytest-8.0.dist-info/METADATA", body: "Name: pytest\n"},
		file{name: "usr/lib/python3/dist-packages/Pre_Commit-3.0.egg-info", body: "x"},
		file{name: "app/.venv/lib/python3.11/site-packages/my_lint-1.0.dist-info/RECORD", body: "x"},
		file{name: "app/.venv/lib/python3.11/site-packages/pytest_stub.py", body: "x"},
	)
	img := image(t, goodConfig(), append(goodLayers(t), extra)...)
	rs := run(t, img, Config{DevPackages: []string{"My.Lint"}})
	want(t, rs, "dev-packages", StatusFail,
		"pytest installed at /app/.venv/lib/python3.11/site-packages/pytest-8.0.dist-info",
		"pre-commit installed at /usr/lib/python3/dist-packages/Pre_Commit-3.0.egg-info",
		"my-lint installed")
	if strings.Contains(rs["dev-packages"].Detail, "stub") {
		t.Errorf("module file reported as a distribution: %s", rs["dev-packages"].Detail)
	}
	rs = run(t, img, Config{Allow: []string{"dev-packages:pytest", "dev-packages:/usr/lib/python3/dist-packages/*", "dev-packages:my-lint"}})
	want(t, rs, "dev-packages", StatusPass)

	// A package removed by a later layer is not installed.
	del := layer(t, file{name: "app/.venv/lib/python3.11/site-packages/.wh.pytest-8.0.dist-info"},
		file{name: "usr/lib/python3/dist-packages/.wh.Pre_Commit-3.0.egg-info"})
	rs = run(t, image(t, goodConfig(), append(goodLayers(t), extra, del)...), Config{})
	want(t, rs, "dev-packages", StatusPass)
}

func TestToolchain(t *testing.T) {
	extra := layer(t,
		file{name: "usr/bin/x86_64-linux-gnu-gcc-12", body: "x", mode: 0o755},
		file{name: "usr/bin/make", body: "x", mode: 0o755},
		file{name: "usr/lib/gcc/x86_64-linux-gnu/12/cc1", body: "x", mode: 0o755},
		file{name: "usr/include/python3.11/Python.h", body: "x"},
		file{name: "usr/bin/python3", body: "x", mode: 0o755},
		file{name: "usr/bin/ldd", body: "x", mode: 0o755},
	)
	rs := run(t, image(t, goodConfig(), append(goodLayers(t), extra)...), Config{})
	want(t, rs, "toolchain", StatusFail, "/usr/bin/x86_64-linux-gnu-gcc-12", "/usr/bin/make", "cc1", "Python.h")
	for _, bad := range []string{"python3,", "ldd"} {
		if strings.Contains(rs["toolchain"].Detail+",", bad) {
			t.Errorf("false alarm %q: %s", bad, rs["toolchain"].Detail)
		}
	}
}

func TestIsTool(t *testing.T) {
	for name, want := range map[string]bool{
		"gcc": true, "gcc-12": true, "g++-12": true, "cc": true, "c++": true, "ld": true, "ld.gold": true,
		"cmake": true, "aarch64-linux-gnu-gcc": true, "x86_64-linux-gnu-ld": true,
		"python3": false, "ldd": false, "ldconfig": false, "make-first-existing-target": false, "gcov-dump": false,
	} {
		if got := isTool(name); got != want {
			t.Errorf("isTool(%q) = %v, want %v", name, got, want)
		}
	}
}

const fakeKey = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n"

func TestSecretsInDeletedFiles(t *testing.T) {
	leak := layer(t,
		file{name: "root/.ssh/id_rsa", body: fakeKey},
		file{name: "app/config.py", body: "TOKEN = 'ghp_" + strings.Repeat("a", 36) + "'\n"},
		file{name: "app/.env", body: "X=1\n"},
	)
	clean := layer(t,
		file{name: "root/.ssh/.wh.id_rsa"},
		file{name: "app/config.py", body: "TOKEN = None\n"},
	)
	c := goodConfig()
	c.Env = append(c.Env, "AWS_KEY=AKIA"+strings.Repeat("Q", 16), "DB_PASSWORD=hunter2")
	c.Labels["slack"] = "xoxb-1234567890-abcdef"
	img := image(t, c, append(goodLayers(t), leak, clean)...)
	cf := withHistory(t, img, "RUN curl -H 'PRIVATE-TOKEN: glpat-"+strings.Repeat("b", 20)+"' x")
	img, err := mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	rs := run(t, img, Config{})
	want(t, rs, "secrets", StatusFail,
		"SSH private key in layer 2 at /root/.ssh/id_rsa (deleted later",
		"private key in layer 2 at /root/.ssh/id_rsa",
		"GitHub token in layer 2 at /app/config.py (overwritten in layer 3",
		".env file in layer 2 at /app/.env",
		"AWS access key in env AWS_KEY",
		"env DB_PASSWORD has a value",
		"Slack token in label slack",
		fmt.Sprintf("GitLab token in history entry %d", len(cf.History)-1),
	)
	for _, secret := range []string{"hunter2", "ghp_a", "AKIAQ", "xoxb-", "glpat-b", "b3Blbn"} {
		if strings.Contains(rs["secrets"].Detail, secret) {
			t.Errorf("detail reveals %q: %s", secret, rs["secrets"].Detail)
		}
	}
}

func withHistory(t *testing.T, img v1.Image, createdBy string) *v1.ConfigFile {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.History = append(cf.History, v1.History{CreatedBy: createdBy})
	return cf
}

func TestSharedLibraries(t *testing.T) {
	del := layer(t, file{name: "usr/lib/x86_64-linux-gnu/.wh.libc.so.6"})
	rs := run(t, image(t, goodConfig(), append(goodLayers(t), del)...), Config{})
	want(t, rs, "shared-libraries", StatusFail, "/usr/bin/true needs libc.so.6, not found")

	rs = run(t, image(t, goodConfig(), append(goodLayers(t), del)...), Config{Allow: []string{"shared-libraries:libc.so.6"}})
	want(t, rs, "shared-libraries", StatusPass)

	// An opaque directory hides what lower layers put in it.
	opq := layer(t, file{name: "usr/lib/x86_64-linux-gnu/.wh..wh..opq"}, file{name: "usr/lib/x86_64-linux-gnu/other", body: "x"})
	rs = run(t, image(t, goodConfig(), append(goodLayers(t), opq)...), Config{})
	want(t, rs, "shared-libraries", StatusFail, "libc.so.6")
}

func TestBasePinned(t *testing.T) {
	c := goodConfig()
	delete(c.Labels, baseDigest)
	img := image(t, c, goodLayers(t)...)
	rs := run(t, img, Config{})
	want(t, rs, "base-pinned", StatusFail, baseDigest)

	annotated, ok := mutate.Annotations(img, map[string]string{baseDigest: "sha256:def"}).(v1.Image)
	if !ok {
		t.Fatal("mutate.Annotations did not return an image")
	}
	rs = run(t, annotated, Config{})
	want(t, rs, "base-pinned", StatusPass, "sha256:def")
}

func TestSize(t *testing.T) {
	big := strings.Repeat("x", 1000)
	layers := append(goodLayers(t),
		layer(t, file{name: "tmp/cache", body: big}, file{name: "app/data", body: big}),
		layer(t, file{name: "tmp/.wh.cache"}, file{name: "app/data", body: "y"}),
	)
	img := image(t, goodConfig(), layers...)
	rs := run(t, img, Config{})
	want(t, rs, "size", StatusPass, "0.0 MiB wasted")
	rs = run(t, img, Config{MaxWastedBytes: 1999})
	want(t, rs, "size", StatusFail, "wasted")
	s, err := scan(img)
	if err != nil {
		t.Fatal(err)
	}
	if s.wasted != 2000 {
		t.Errorf("wasted %d bytes, want 2000", s.wasted)
	}
	rs = run(t, img, Config{MaxWastedBytes: 2000, MaxImageBytes: s.total - 1})
	want(t, rs, "size", StatusFail, "exceeds the budget")
	rs = run(t, img, Config{MaxWastedBytes: 2000, MaxImageBytes: s.total})
	want(t, rs, "size", StatusPass)
}

func TestWritableApp(t *testing.T) {
	for _, tc := range []struct {
		f      file
		status string
	}{
		{file{name: "app/owned.py", body: "x", uid: 1001, gid: 1001}, StatusFail},
		{file{name: "app/.venv/bin/python", body: "x", mode: 0o775, gid: 1001}, StatusFail},
		{file{name: "app/world", body: "x", mode: 0o666}, StatusFail},
		{file{name: "app/root.py", body: "x", mode: 0o664, gid: 0}, StatusPass},
		{file{name: "srv/owned", body: "x", uid: 1001}, StatusPass},
	} {
		rs := run(t, image(t, goodConfig(), append(goodLayers(t), layer(t, tc.f))...), Config{})
		want(t, rs, "writable-app", tc.status)
		if tc.status == StatusFail {
			want(t, rs, "writable-app", tc.status, "/"+tc.f.name)
		}
	}
	c := goodConfig()
	c.User = "0"
	rs := run(t, image(t, c, goodLayers(t)...), Config{})
	want(t, rs, "writable-app", StatusSkip)
}

func TestUnreadableLayer(t *testing.T) {
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader("not a tar file, not at all, no")), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Static(image(t, goodConfig(), l), Config{}); err == nil || !strings.Contains(err.Error(), "layer 0") {
		t.Errorf("got %v, want an error naming layer 0", err)
	}
}
