package pyindex

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/kiln-build/kiln/internal/testcache"
	"github.com/kiln-build/kiln/internal/testindex"
	"github.com/kiln-build/kiln/internal/testwheels"
)

const (
	user   = "alice"
	secret = "pw-7f3c9e1d-SECRET"
)

// messages collects every error and log line an auth test produces; at the
// end of the test none may contain the password.
type messages struct {
	t   *testing.T
	mu  sync.Mutex
	all []string
	log bytes.Buffer
}

func watchMessages(t *testing.T) *messages {
	m := &messages{t: t}
	prevOut, prevFlags := log.Writer(), log.Flags()
	log.SetOutput(&m.log)
	t.Cleanup(func() {
		log.SetOutput(prevOut)
		log.SetFlags(prevFlags)
		m.all = append(m.all, m.log.String())
		if len(m.all) < 2 {
			t.Error("no messages were checked")
		}
		for _, s := range m.all {
			if strings.Contains(s, secret) {
				t.Errorf("the password appears in %q", s)
			}
		}
	})
	return m
}

// err records err (which may be nil) and returns it.
func (m *messages) err(err error) error {
	if err != nil {
		m.mu.Lock()
		m.all = append(m.all, err.Error(), fmt.Sprintf("%v %+v %#v", err, err, err))
		m.mu.Unlock()
	}
	return err
}

// files and creds are err for calls that also return a value.
func (m *messages) files(f []File, err error) ([]File, error) { return f, m.err(err) }

func (m *messages) creds(c Credentials, err error) (Credentials, error) { return c, m.err(err) }

func (m *messages) add(format string, args ...any) {
	m.mu.Lock()
	m.all = append(m.all, fmt.Sprintf(format, args...))
	m.mu.Unlock()
}

// isolate points $HOME and $NETRC away from the user's files and clears
// KILN_INDEX_* variables. The test cache stays where it was.
func isolate(t *testing.T) string {
	t.Setenv("KILN_TEST_CACHE", testcache.Dir())
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("NETRC", "")
	os.Unsetenv("NETRC")
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, envPrefix) {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
	return home
}

func writeNetrc(t *testing.T, content string) string {
	p := filepath.Join(t.TempDir(), "netrc")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("NETRC", p)
	return p
}

func download(c *Client, rawURL string) error {
	hc := &http.Client{Transport: c.Transport()}
	resp, err := hc.Get(rawURL)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", Redact(rawURL), resp.Status)
	}
	return nil
}

func hostOf(t *testing.T, raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Hostname()
}

func TestNetrcAuth(t *testing.T) {
	msgs := watchMessages(t)
	isolate(t)
	srv := testindex.Start(t, testwheels.Wheelhouse(t), testindex.WithBasicAuth(user, secret))

	// Without credentials: 401, and a message that says what to do.
	_, err := msgs.files((&Client{}).Files(context.Background(), srv.URL(), "flask"))
	if err == nil || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "no credentials for 127.0.0.1") {
		t.Fatalf("no credentials: %v", err)
	}

	writeNetrc(t, "# index\nmachine example.com login bob password other\n\nmachine "+hostOf(t, srv.URL())+"\n  login "+user+"\n  password \""+secret+"\"\n")
	c := &Client{}
	files, err := c.Files(context.Background(), srv.URL(), "Flask")
	if msgs.err(err) != nil || len(files) != 1 {
		t.Fatalf("files %v, err %v", files, err)
	}
	// The wheel itself is behind the same password: Transport sends it.
	if err := msgs.err(download(c, files[0].URL)); err != nil {
		t.Fatal(err)
	}
	if d := srv.Downloads(); len(d) != 1 || d[0] != files[0].Filename {
		t.Errorf("downloads %v", d)
	}
	msgs.add("%v %+v %#v", c, c, c)
	msgs.add("%v %+v %#v", c.env, c.env, c.env)

	// A wrong password is refused, and the message says so.
	writeNetrc(t, "default login "+user+" password wrong-"+secret+"\n")
	_, err = msgs.files((&Client{}).Files(context.Background(), srv.URL(), "flask"))
	if err == nil || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "were refused") {
		t.Fatalf("wrong password: %v", err)
	}
}

func TestEnvironmentAuth(t *testing.T) {
	msgs := watchMessages(t)
	isolate(t)
	srv := testindex.Start(t, testwheels.Wheelhouse(t), testindex.WithBasicAuth(user, secret))

	t.Setenv("KILN_INDEX_PRIVATE_URL", srv.URL())
	t.Setenv("KILN_INDEX_PRIVATE_USERNAME", user)
	t.Setenv("KILN_INDEX_PRIVATE_PASSWORD", secret)
	// A netrc entry for the same host is overridden by the variables.
	writeNetrc(t, "machine 127.0.0.1 login "+user+" password not-it\n")
	c := &Client{}
	files, err := c.Files(context.Background(), srv.URL(), "werkzeug")
	if msgs.err(err) != nil || len(files) != 1 {
		t.Fatalf("files %v, err %v", files, err)
	}
	// Files live outside the index prefix (/files/, not /simple/), on the
	// same host: they get the index's credentials too.
	if err := msgs.err(download(c, files[0].URL)); err != nil {
		t.Fatal(err)
	}

	t.Setenv("KILN_INDEX_PRIVATE_PASSWORD", "wrong-"+secret)
	_, err = msgs.files((&Client{}).Files(context.Background(), srv.URL(), "werkzeug"))
	if err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("wrong password: %v", err)
	}

	// user:password in the _URL variable.
	os.Unsetenv("KILN_INDEX_PRIVATE_USERNAME")
	os.Unsetenv("KILN_INDEX_PRIVATE_PASSWORD")
	u, _ := url.Parse(srv.URL())
	u.User = url.UserPassword(user, secret)
	t.Setenv("KILN_INDEX_PRIVATE_URL", u.String())
	if _, err := msgs.files((&Client{}).Files(context.Background(), srv.URL(), "werkzeug")); err != nil {
		t.Fatal(err)
	}
	creds, err := FromEnvironment()
	if err != nil {
		t.Fatal(err)
	}
	msgs.add("%v %+v %#v %s", creds, creds, creds, creds)
}

func TestURLAuth(t *testing.T) {
	msgs := watchMessages(t)
	isolate(t)
	srv := testindex.Start(t, testwheels.Wheelhouse(t), testindex.WithBasicAuth(user, secret))
	u, _ := url.Parse(srv.URL())
	u.User = url.UserPassword(user, secret)

	c := &Client{}
	files, err := c.Files(context.Background(), u.String(), "itsdangerous")
	if msgs.err(err) != nil || len(files) != 1 {
		t.Fatalf("files %v, err %v", files, err)
	}
	if strings.Contains(files[0].URL, secret) || strings.Contains(files[0].URL, user+"@") {
		t.Errorf("file URL %s carries the credentials", files[0].URL)
	}
	if err := msgs.err(download(c, files[0].URL)); err != nil {
		t.Fatal(err)
	}
	// Another client was never told: the file is refused to it.
	if err := msgs.err(download(&Client{}, files[0].URL)); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("download without credentials: %v", err)
	}
	// Errors about such a URL name it without the user info.
	_, err = msgs.files(c.Files(context.Background(), u.String(), "no such project"))
	if err == nil {
		t.Error("bad project name accepted")
	}
	bad := *u
	bad.Host = "127.0.0.1:1" // nothing listens there
	_, err = msgs.files((&Client{Retries: 1, Backoff: 1}).Files(context.Background(), bad.String(), "flask"))
	if err == nil {
		t.Error("unreachable index: no error")
	}
	_, err = msgs.files(c.FindLinks(context.Background(), strings.Replace(u.String(), "http://", "ftp://", 1)))
	if err == nil {
		t.Error("ftp find-links accepted")
	}
	msgs.add("%v %+v %#v", c, c, c)
}

// namedHosts dials every "*.test" host at the listener registered for it,
// so that one machine can play several hosts.
type namedHosts map[string]string // "name.test:port" -> "127.0.0.1:port"

func (h namedHosts) client() *http.Client {
	d := &net.Dialer{}
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if real, ok := h[addr]; ok {
				addr = real
			}
			return d.DialContext(ctx, network, addr)
		},
	}}
}

type authLog struct {
	mu   sync.Mutex
	seen []string
}

func (a *authLog) add(r *http.Request) {
	a.mu.Lock()
	a.seen = append(a.seen, r.URL.Path+" "+r.Header.Get("Authorization"))
	a.mu.Unlock()
}

func (a *authLog) get() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.seen...)
}

func TestRedirectToAnotherHostDropsCredentials(t *testing.T) {
	msgs := watchMessages(t)
	isolate(t)

	// B, elsewhere: records what it is sent and serves the page.
	var atB authLog
	b := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		atB.add(r)
		if r.URL.Path == "/simple/private/" {
			w.Header().Set("WWW-Authenticate", `Basic realm="b"`)
			http.Error(w, "who are you", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/vnd.pypi.simple.v1+json")
		fmt.Fprint(w, `{"meta":{"api-version":"1.1"},"files":[{"filename":"flask-2.2.2-py3-none-any.whl","url":"/f/flask-2.2.2-py3-none-any.whl","hashes":{"sha256":"00"}}]}`)
	}))
	t.Cleanup(b.Close)
	// A, the index: wants the password, then redirects to B.
	var atA authLog
	var bURL string
	a := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		atA.add(r)
		if u, p, ok := r.BasicAuth(); !ok || u != user || p != secret {
			http.Error(w, "auth", http.StatusUnauthorized)
			return
		}
		http.Redirect(w, r, bURL+r.URL.Path, http.StatusFound)
	}))
	t.Cleanup(a.Close)
	hosts := namedHosts{}
	aAddr, bAddr := a.Listener.Addr().String(), b.Listener.Addr().String()
	_, aPort, _ := net.SplitHostPort(aAddr)
	_, bPort, _ := net.SplitHostPort(bAddr)
	hosts["index.test:"+aPort] = aAddr
	hosts["cdn.test:"+bPort] = bAddr

	check := func(name string, c *Client, index string) {
		t.Helper()
		atA.seen, atB.seen = nil, nil
		files, err := c.Files(context.Background(), index, "flask")
		if msgs.err(err) != nil || len(files) != 1 {
			t.Fatalf("%s: files %v, err %v", name, files, err)
		}
		if got := atA.get(); len(got) != 1 || !strings.HasPrefix(got[0], "/simple/flask/ Basic ") {
			t.Errorf("%s: index saw %q, want one request with credentials", name, got)
		}
		if got := atB.get(); len(got) != 1 || got[0] != "/simple/flask/ " {
			t.Errorf("%s: the other host saw %q, want one request without credentials", name, got)
		}
		// The file is on B: a download through Transport sends nothing there.
		atB.seen = nil
		hc := &http.Client{Transport: c.Transport()}
		resp, err := hc.Get(files[0].URL)
		if msgs.err(err) != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := atB.get(); len(got) != 1 || strings.Contains(got[0], "Basic") {
			t.Errorf("%s: download from the other host sent %q", name, got)
		}
		// When the other host asks for a password, it still gets none.
		atB.seen = nil
		_, err = msgs.files(c.Files(context.Background(), index, "private"))
		if err == nil || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "no credentials for") {
			t.Errorf("%s: private page on the other host: %v", name, err)
		}
		if got := atB.get(); len(got) != 1 || strings.Contains(got[0], "Basic") {
			t.Errorf("%s: the other host was sent %q", name, got)
		}
		msgs.add("%v %+v %#v", c, c, c)
	}

	// netrc: credentials for index.test only.
	bURL = "http://cdn.test:" + bPort
	writeNetrc(t, "machine index.test login "+user+" password "+secret+"\n")
	check("netrc", &Client{HTTP: hosts.client()}, "http://index.test:"+aPort+"/simple")

	// KILN_INDEX_*: same host name, another port is another host.
	os.Unsetenv("NETRC")
	bURL = b.URL
	t.Setenv("KILN_INDEX_A_URL", a.URL+"/simple")
	t.Setenv("KILN_INDEX_A_USERNAME", user)
	t.Setenv("KILN_INDEX_A_PASSWORD", secret)
	check("env", &Client{}, a.URL+"/simple/")
	os.Unsetenv("KILN_INDEX_A_URL")
	os.Unsetenv("KILN_INDEX_A_USERNAME")
	os.Unsetenv("KILN_INDEX_A_PASSWORD")

	// user:password in the index URL.
	u, _ := url.Parse(a.URL + "/simple")
	u.User = url.UserPassword(user, secret)
	check("url", &Client{}, u.String())
}

func TestMessagesNeverCarryThePassword(t *testing.T) {
	msgs := watchMessages(t)
	isolate(t)
	// Configuration mistakes whose text sits next to the password.
	for _, content := range []string{
		"machine h login u password " + secret + " trailing",
		"machine h login u password " + secret + " is long",
		"password " + secret + "\n",
		"machine h password \"" + secret,
		"login",
	} {
		writeNetrc(t, content)
		if _, err := msgs.creds(FromEnvironment()); err == nil {
			t.Errorf("netrc %q: no error", content)
		}
	}
	os.Unsetenv("NETRC")
	t.Setenv("KILN_INDEX_X_URL", "http://u:"+secret+"@exa mple.com/simple")
	t.Setenv("KILN_INDEX_X_PASSWORD", secret)
	if _, err := msgs.creds(FromEnvironment()); err == nil {
		t.Error("bad KILN_INDEX_X_URL accepted")
	}
	// A client whose credentials cannot be read fails each request with that error.
	if _, err := msgs.files((&Client{}).Files(context.Background(), "http://127.0.0.1:1/simple", "flask")); err == nil || !strings.Contains(err.Error(), "KILN_INDEX_X_URL") {
		t.Errorf("Files with bad credentials: %v", err)
	}
	os.Unsetenv("KILN_INDEX_X_URL")
	if _, err := msgs.creds(FromEnvironment()); err == nil || !strings.Contains(err.Error(), "KILN_INDEX_X_PASSWORD is set but KILN_INDEX_X_URL is not") {
		t.Errorf("password without URL: %v", err)
	}
	for _, raw := range []string{
		"http://" + user + ":" + secret + "@127.0.0.1:1/simple",
		"http://" + user + ":" + secret + "@[::1/simple",
		"ftp://" + user + ":" + secret + "@example.com/simple",
		"http://" + user + ":" + secret + "@exa mple.com/simple",
	} {
		_, err := msgs.files((&Client{Credentials: noCreds{}, Retries: 1, Backoff: 1}).Files(context.Background(), raw, "flask"))
		if err == nil {
			t.Errorf("%s: no error", Redact(raw))
		}
		_, err = msgs.files((&Client{Credentials: noCreds{}, Retries: 1, Backoff: 1}).FindLinks(context.Background(), raw))
		if err == nil {
			t.Errorf("find-links %s: no error", Redact(raw))
		}
		msgs.add("%s", Redact(raw))
	}
}

func TestCredentialsFor(t *testing.T) {
	n, err := parseNetrc([]byte("machine Files.Example.com login f password fp\ndefault login d password dp\n"))
	if err != nil {
		t.Fatal(err)
	}
	env := []string{
		"KILN_INDEX_CORP_URL=https://pkgs.example.com/corp/simple",
		"KILN_INDEX_CORP_USERNAME=corp",
		"KILN_INDEX_CORP_PASSWORD=cp",
		"KILN_INDEX_TEAM_URL=https://pkgs.example.com/corp/simple/team/",
		"KILN_INDEX_TEAM_USERNAME=team",
		"KILN_INDEX_TEAM_PASSWORD=tp",
		"KILN_INDEX_OPEN_URL=https://open.example.com/simple", // no credentials: not an entry
		"KILN_INDEX_TOKEN_URL=https://__token__:tok@tok.example.com:8443/simple",
		"KILN_INDEX_USERONLY_URL=https://u.example.com/simple",
		"KILN_INDEX_USERONLY_USERNAME=just-user",
		"OTHER=1",
	}
	ics, err := indexesFromEnv(env)
	if err != nil {
		t.Fatal(err)
	}
	c := &envCredentials{indexes: ics, netrc: n}
	for raw, want := range map[string]string{
		"https://pkgs.example.com/corp/simple/flask/":      "corp:cp",
		"https://pkgs.example.com/corp/simple":             "corp:cp",
		"https://pkgs.example.com/corp/simple/team/x/":     "team:tp",
		"https://pkgs.example.com/corp/simplex/":           "corp:cp", // same host, outside the prefix
		"https://pkgs.example.com:443/files/a.whl":         "corp:cp",
		"http://pkgs.example.com/corp/simple/":             "d:dp", // another scheme: not the index's
		"https://pkgs.example.com:8443/corp/simple/":       "d:dp", // another port
		"https://files.example.com/a.whl":                  "f:fp",
		"https://tok.example.com:8443/simple/x/":           "__token__:tok",
		"https://u.example.com/simple/x/":                  "just-user:",
		"https://open.example.com/simple/x/":               "d:dp",
		"https://elsewhere.example.org/corp/simple/flask/": "d:dp",
	} {
		u, _ := url.Parse(raw)
		user, pass, ok := c.For(u)
		if got := user + ":" + pass; !ok || got != want {
			t.Errorf("For(%s) = %q %v, want %q", raw, got, ok, want)
		}
	}
	c.netrc.def = nil
	if _, _, ok := c.For(&url.URL{Scheme: "https", Host: "elsewhere.example.org"}); ok {
		t.Error("credentials for a host nobody named")
	}
	if s := fmt.Sprintf("%v %#v", c, c); strings.Contains(s, "tp") || strings.Contains(s, "fp") {
		t.Errorf("%s", s)
	}
}

func TestFromEnvironmentFiles(t *testing.T) {
	home := isolate(t)
	// No ~/.netrc: fine.
	if c, err := FromEnvironment(); err != nil {
		t.Fatal(err)
	} else if _, _, ok := c.For(&url.URL{Scheme: "https", Host: "x"}); ok {
		t.Error("credentials from nowhere")
	}
	// ~/.netrc is read when $NETRC is unset.
	if err := os.WriteFile(filepath.Join(home, ".netrc"), []byte("machine x login hu password hp"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := FromEnvironment()
	if err != nil {
		t.Fatal(err)
	}
	if u, p, ok := c.For(&url.URL{Scheme: "https", Host: "x:1"}); !ok || u != "hu" || p != "hp" {
		t.Errorf("~/.netrc: %q %q %v", u, p, ok)
	}
	// $NETRC wins, and must exist.
	writeNetrc(t, "machine x login nu password np")
	c, err = FromEnvironment()
	if err != nil {
		t.Fatal(err)
	}
	if u, _, _ := c.For(&url.URL{Scheme: "https", Host: "x"}); u != "nu" {
		t.Errorf("$NETRC: user %q", u)
	}
	t.Setenv("NETRC", filepath.Join(home, "missing"))
	if _, err := FromEnvironment(); err == nil {
		t.Error("missing $NETRC file: no error")
	}
}
