package pyindex

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Credentials give the user and password to send to the host of u.
// Implementations answer only for the host (and, where they know one, the
// scheme and port) a credential was given for.
type Credentials interface {
	For(u *url.URL) (user, pass string, ok bool)
}

const envPrefix = "KILN_INDEX_"

// FromEnvironment reads credentials from the netrc file ($NETRC, else
// ~/.netrc; a missing ~/.netrc is no error) and from groups of variables
// KILN_INDEX_<NAME>_URL, KILN_INDEX_<NAME>_USERNAME and
// KILN_INDEX_<NAME>_PASSWORD, as uv reads UV_INDEX_<NAME>_USERNAME. A
// group's credentials go to URLs under its index URL and, so that files an
// index serves from elsewhere on its host can be downloaded, to other URLs
// with the same scheme, host and port. user:password in the _URL variable
// is used when the _USERNAME and _PASSWORD variables are unset. Variable
// groups win over netrc entries.
func FromEnvironment() (Credentials, error) {
	return fromEnv(os.Environ(), os.Getenv("NETRC"), homeNetrc())
}

func homeNetrc() string {
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".netrc")
}

// fromEnv is FromEnvironment over an explicit environment: netrcPath is
// $NETRC (must exist when set) and homePath ~/.netrc (may be missing).
func fromEnv(environ []string, netrcPath, homePath string) (*envCredentials, error) {
	c := &envCredentials{}
	var err error
	if c.indexes, err = indexesFromEnv(environ); err != nil {
		return nil, err
	}
	p, mustExist := netrcPath, true
	if p == "" {
		p, mustExist = homePath, false
	}
	if p == "" {
		return c, nil
	}
	data, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) && !mustExist {
		return c, nil
	}
	if err != nil {
		return nil, fmt.Errorf("netrc: %w", err)
	}
	if c.netrc, err = parseNetrc(data); err != nil {
		return nil, fmt.Errorf("netrc %s: %w", p, err)
	}
	return c, nil
}

// envCredentials holds what FromEnvironment read. Its String method keeps
// the secrets out of any message that prints it.
type envCredentials struct {
	indexes []indexCredential // sorted by name, for a stable choice
	netrc   *netrc
}

type indexCredential struct {
	name       string // NAME of KILN_INDEX_NAME_URL
	prefix     *url.URL
	user, pass string
}

func (c *envCredentials) String() string {
	machines := 0
	if c.netrc != nil {
		machines = len(c.netrc.machines)
	}
	return fmt.Sprintf("credentials for %d indexes and %d netrc machines", len(c.indexes), machines)
}

// GoString keeps %#v from printing the fields.
func (c *envCredentials) GoString() string { return c.String() }

func (c *envCredentials) For(u *url.URL) (string, string, bool) {
	var best *indexCredential
	for i := range c.indexes {
		ic := &c.indexes[i]
		if underPrefix(u, ic.prefix) && (best == nil || len(ic.prefix.Path) > len(best.prefix.Path)) {
			best = ic
		}
	}
	if best == nil {
		for i := range c.indexes {
			if sameRealm(u, c.indexes[i].prefix) {
				best = &c.indexes[i]
				break
			}
		}
	}
	if best != nil {
		return best.user, best.pass, true
	}
	if c.netrc != nil {
		return c.netrc.lookup(u.Hostname())
	}
	return "", "", false
}

func indexesFromEnv(environ []string) ([]indexCredential, error) {
	type group struct {
		url, user, pass        string
		hasURL, hasUser, hasPw bool
	}
	groups := map[string]*group{}
	get := func(name string) *group {
		g := groups[name]
		if g == nil {
			g = &group{}
			groups[name] = g
		}
		return g
	}
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		rest, ok := strings.CutPrefix(k, envPrefix)
		if !ok {
			continue
		}
		if name, ok := strings.CutSuffix(rest, "_URL"); ok && name != "" {
			g := get(name)
			g.url, g.hasURL = v, true
		} else if name, ok := strings.CutSuffix(rest, "_USERNAME"); ok && name != "" {
			g := get(name)
			g.user, g.hasUser = v, true
		} else if name, ok := strings.CutSuffix(rest, "_PASSWORD"); ok && name != "" {
			g := get(name)
			g.pass, g.hasPw = v, true
		}
	}
	names := make([]string, 0, len(groups))
	for n := range groups {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []indexCredential
	for _, name := range names {
		g := groups[name]
		if !g.hasURL {
			which := envPrefix + name + "_USERNAME"
			if !g.hasUser {
				which = envPrefix + name + "_PASSWORD"
			}
			return nil, fmt.Errorf("%s is set but %s%s_URL is not: credentials are matched to an index by its URL", which, envPrefix, name)
		}
		u, err := url.Parse(g.url)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			// The value may hold a password: name the variable, not its value.
			return nil, fmt.Errorf("%s%s_URL is not an http(s) URL", envPrefix, name)
		}
		ic := indexCredential{name: name, user: g.user, pass: g.pass}
		if !g.hasUser && !g.hasPw && u.User != nil {
			ic.user = u.User.Username()
			ic.pass, _ = u.User.Password()
		} else if !g.hasUser && !g.hasPw {
			continue // an index URL without credentials
		}
		u.User, u.RawQuery, u.Fragment, u.RawPath = nil, "", "", ""
		ic.prefix = u
		out = append(out, ic)
	}
	return out, nil
}

// realm is what a credential is scoped to: scheme, host and port (the
// default port made explicit), lower-cased.
func realm(u *url.URL) string {
	port := u.Port()
	if port == "" {
		switch strings.ToLower(u.Scheme) {
		case "http":
			port = "80"
		case "https":
			port = "443"
		}
	}
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Hostname()) + ":" + port
}

func sameRealm(a, b *url.URL) bool { return realm(a) == realm(b) }

// underPrefix reports whether u is prefix itself or below it, path segment
// by segment: /simple matches /simple/ and /simple/x but not /simplex.
func underPrefix(u, prefix *url.URL) bool {
	if !sameRealm(u, prefix) {
		return false
	}
	p := strings.TrimSuffix(prefix.Path, "/")
	return u.Path == p || strings.HasPrefix(u.Path, p+"/")
}

// Redact drops user info (user:password@) from a URL so that it can go
// into a message. Text that does not parse as a URL has everything between
// "://" and the last "@" of its authority removed.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err == nil {
		if u.User == nil {
			return raw
		}
		u.User = nil
		return u.String()
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return raw
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	if at := strings.LastIndex(rest[:end], "@"); at >= 0 {
		return scheme + "://" + rest[at+1:]
	}
	return raw
}

// transport adds basic auth to each request from the credentials that
// belong to its URL. The header is added to a copy of the request, at each
// hop: http.Client builds the request for a redirect from the original one,
// so a redirect to another host is asked afresh and gets only that host's
// credentials, if any.
type transport struct {
	c    *Client
	base http.RoundTripper
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Header.Get("Authorization") != "" || req.URL.User != nil {
		return t.base.RoundTrip(req)
	}
	user, pass, ok, err := t.c.credentialsFor(req.URL)
	if err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	if !ok {
		return t.base.RoundTrip(req)
	}
	r := req.Clone(req.Context())
	r.SetBasicAuth(user, pass)
	return t.base.RoundTrip(r)
}
