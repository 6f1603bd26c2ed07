package pyindex

import (
	"strings"
	"testing"
)

func TestParseNetrc(t *testing.T) {
	n, err := parseNetrc(readTestdata(t, "netrc"))
	if err != nil {
		t.Fatal(err)
	}
	for host, want := range map[string]string{
		"a.example.com": `alice:p a"ss`,
		"B.EXAMPLE.COM": "bob:bpw",
		"c.example.com": "carol:cpw",
		"init":          "anon:anonpw", // the macro's name is no machine
		"get":           "anon:anonpw", // nor a word of its body
		"other":         "anon:anonpw",
	} {
		u, p, ok := n.lookup(host)
		if got := u + ":" + p; !ok || got != want {
			t.Errorf("%s: %q %v, want %q", host, got, ok, want)
		}
	}
	if len(n.machines) != 3 {
		t.Errorf("%d machines, want 3", len(n.machines))
	}

	n, err = parseNetrc([]byte("machine h login first password 1\nmachine h login second password 2\nmachine empty\n"))
	if err != nil {
		t.Fatal(err)
	}
	if u, _, _ := n.lookup("h"); u != "first" {
		t.Errorf("the first entry for a host wins, got %q", u)
	}
	if _, _, ok := n.lookup("empty"); ok {
		t.Error("an entry without login or password gives credentials")
	}
}

func TestParseNetrcErrors(t *testing.T) {
	for content, want := range map[string]string{
		"machine":                               "line 1: machine without a name",
		"machine h\nlogin":                      "line 2: login without a value",
		"\n\npassword x":                        "line 3: password before any machine",
		"machine h password a b":                "line 1: unexpected word",
		"machine h\n  password \"open\n\nquote": "line 2: unterminated quoted value",
		"macdef m\nbody\n\nlogin x":             "line 4: login before any machine",
	} {
		_, err := parseNetrc([]byte(content))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", content, err, want)
		}
	}
}

func FuzzParseNetrc(f *testing.F) {
	f.Add(readTestdata(f, "netrc"))
	f.Add([]byte("machine h login \"a\\\"b\" password p\ndefault login d\nmacdef x\ny\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := parseNetrc(data)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("multi-line error %q", err)
			}
			return
		}
		for _, m := range n.machines {
			n.lookup(m.host)
		}
	})
}
