package debfixup

import (
	"io/fs"
	"strings"
	"testing"

	"github.com/kiln-build/kiln/internal/layer"
)

// On an empty base, base-passwd's masters become the account files.
func TestAccountsFromMasters(t *testing.T) {
	root := unpack(t, "base-passwd")
	tree := treeOf(t, root)
	apply(t, tree, nil, []string{"base-passwd"}, Options{})

	master := string(read(t, root+"/usr/share/base-passwd/passwd.master"))
	passwd := string(file(t, tree, "etc/passwd"))
	if want := strings.ReplaceAll(master, ":*:", ":x:"); passwd != want {
		t.Errorf("/etc/passwd:\n%s\nwant:\n%s", passwd, want)
	}
	if !hasLine([]byte(passwd), "www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin") {
		t.Errorf("no www-data in /etc/passwd")
	}
	group := file(t, tree, "etc/group")
	for _, g := range []string{"root:x:0:", "adm:x:4:", "mail:x:8:", "www-data:x:33:", "shadow:x:42:", "utmp:x:43:", "staff:x:50:", "nogroup:x:65534:"} {
		if !hasLine(group, g) {
			t.Errorf("/etc/group has no %q", g)
		}
	}
	shadow := file(t, tree, "etc/shadow")
	if !hasLine(shadow, "root:*::0:99999:7:::") || !hasLine(shadow, "www-data:*::0:99999:7:::") {
		t.Errorf("/etc/shadow:\n%s", shadow)
	}
	if got, want := strings.Count(string(shadow), "\n"), strings.Count(passwd, "\n"); got != want {
		t.Errorf("/etc/shadow has %d entries, /etc/passwd %d", got, want)
	}
	if gshadow := file(t, tree, "etc/gshadow"); !hasLine(gshadow, "root:*::") || !hasLine(gshadow, "nogroup:*::") {
		t.Errorf("/etc/gshadow:\n%s", gshadow)
	}
	for _, p := range []string{"etc/shadow", "etc/gshadow"} {
		if e := entry(t, tree, p); e.Mode != 0o640 || e.UID != 0 || e.GID != 42 {
			t.Errorf("%s: mode %v owner %d:%d, want 0640 root:shadow", p, e.Mode, e.UID, e.GID)
		}
	}
	if e := entry(t, tree, "etc/passwd"); e.Mode != 0o644 {
		t.Errorf("/etc/passwd mode %v", e.Mode)
	}
}

func mastersBase(t *testing.T, files map[string]string) *layer.Tree {
	t.Helper()
	root := unpack(t, "base-passwd")
	base := treeOf(t, root)
	for p, data := range files {
		if err := base.AddFile(p, 0o644, []byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	return base
}

func nginxTree(t *testing.T) *layer.Tree {
	t.Helper()
	return treeOf(t, unpack(t, "nginx-common"))
}

// A base with its own accounts keeps them all; a package's needs are added
// from the masters, to the shadow files too.
func TestAccountsAddedToBase(t *testing.T) {
	base := mastersBase(t, map[string]string{
		"etc/passwd":  "root:x:0:0:root:/root:/bin/bash\napp:x:1001:1001::/home/app:/bin/sh\n",
		"etc/group":   "root:x:0:\napp:x:1001:\nadm:x:4:syslog\n",
		"etc/shadow":  "root:*:19000:0:99999:7:::\napp:!:19000::::::\n",
		"etc/gshadow": "root:*::\n",
	})
	tree := nginxTree(t)
	r := apply(t, tree, TreeFiles(base), []string{"base-passwd", "nginx-common"}, Options{})
	if got, want := string(file(t, tree, "etc/passwd")),
		"root:x:0:0:root:/root:/bin/bash\napp:x:1001:1001::/home/app:/bin/sh\nwww-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\n"; got != want {
		t.Errorf("/etc/passwd:\n%s", got)
	}
	if got, want := string(file(t, tree, "etc/group")), "root:x:0:\napp:x:1001:\nadm:x:4:syslog\nwww-data:x:33:\n"; got != want {
		t.Errorf("/etc/group:\n%s", got)
	}
	if got, want := string(file(t, tree, "etc/shadow")), "root:*:19000:0:99999:7:::\napp:!:19000::::::\nwww-data:*::0:99999:7:::\n"; got != want {
		t.Errorf("/etc/shadow:\n%s", got)
	}
	if got, want := string(file(t, tree, "etc/gshadow")), "root:*::\nwww-data:*::\n"; got != want {
		t.Errorf("/etc/gshadow:\n%s", got)
	}
	if !strings.Contains(strings.Join(r.Applied, "\n"), "www-data") {
		t.Errorf("Applied = %q", r.Applied)
	}
}

// Nothing is written when the base already has what packages need.
func TestAccountsComplete(t *testing.T) {
	base := mastersBase(t, map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/bin/bash\nwww-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\n",
		"etc/group":  "root:x:0:\nadm:x:4:\nwww-data:x:33:\n",
	})
	tree := nginxTree(t)
	apply(t, tree, TreeFiles(base), []string{"base-passwd", "nginx-common"}, Options{})
	absent(t, tree, "etc/passwd", "etc/group", "etc/shadow", "etc/gshadow")
}

func TestAccountsConflict(t *testing.T) {
	base := mastersBase(t, map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/bin/bash\nhttp:x:33:33::/srv/http:/usr/bin/nologin\n",
		"etc/group":  "root:x:0:\nadm:x:4:\nwww-data:x:33:\n",
	})
	_, err := Apply(nginxTree(t), TreeFiles(base), []string{"base-passwd", "nginx-common"}, Options{})
	if err == nil || !strings.Contains(err.Error(), "www-data") || !strings.Contains(err.Error(), "http") {
		t.Errorf("err = %v, want a clash of www-data with http", err)
	}
}

func TestMergeAccounts(t *testing.T) {
	master := []byte("root:*:0:\nadm:*:4:\nmail:*:8:\nusers:*:100:\n")
	for _, tc := range []struct {
		name, have string
		want       map[string]bool
		out        string
		err        bool
	}{
		{name: "all into empty", out: "root:x:0:\nadm:x:4:\nmail:x:8:\nusers:x:100:\n"},
		{name: "missing newline kept", have: "root:x:0:", want: map[string]bool{"mail": true}, out: "root:x:0:\nmail:x:8:\n"},
		{name: "taken id skipped", have: "root:x:0:\npostdrop:x:8:\n", out: "root:x:0:\npostdrop:x:8:\nadm:x:4:\nusers:x:100:\n"},
		{name: "unknown name", want: map[string]bool{"nginx": true}, err: true},
	} {
		required := tc.want
		out, _, err := mergeAccounts("/etc/group", []byte(tc.have), master, tc.want, required)
		if (err != nil) != tc.err {
			t.Errorf("%s: err = %v", tc.name, err)
			continue
		}
		if !tc.err && string(out) != tc.out {
			t.Errorf("%s:\n%s\nwant:\n%s", tc.name, out, tc.out)
		}
	}
}

// FuzzMergeAccounts checks that merging never panics and never drops or
// changes what the base has.
func FuzzMergeAccounts(f *testing.F) {
	f.Add("root:x:0:0::/root:/bin/sh\n", "root:*:0:0::/root:/bin/sh\nwww-data:*:33:33::/var/www:/usr/sbin/nologin\n", "www-data")
	f.Add("", "a:*:x\n::\n#c\n+nis\n", "")
	f.Fuzz(func(t *testing.T, have, master, want string) {
		w := map[string]bool{}
		for _, n := range strings.Fields(want) {
			w[n] = true
		}
		out, _, err := mergeAccounts("/etc/passwd", []byte(have), []byte(master), w, nil)
		if err != nil {
			return
		}
		if !strings.HasPrefix(string(out), have) {
			t.Fatalf("base content changed:\n%q\n->\n%q", have, out)
		}
	})
}

// Owners resolve by name from the accounts written.
func TestOwnerLookup(t *testing.T) {
	tree := layer.NewTree()
	if err := tree.AddFile("etc/group", 0o644, []byte("root:x:0:\nadm:x:4:syslog\n")); err != nil {
		t.Fatal(err)
	}
	s := &state{v: newView(tree, nil, false)}
	if id, err := s.gid("adm"); err != nil || id != 4 {
		t.Errorf("gid(adm) = %d, %v", id, err)
	}
	if _, err := s.uid("www-data"); err == nil {
		t.Errorf("uid(www-data) without /etc/passwd: no error")
	}
	if fileMode(0o2775) != fs.ModeSetgid|0o775 || unixMode(fileMode(0o1777)) != 0o1777 {
		t.Errorf("mode conversion")
	}
}
