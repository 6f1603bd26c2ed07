package debfixup

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// accountNeeds lists the accounts that packages' scripts chown to by name
// (or create), taken from base-passwd's masters when the system lacks them.
var accountNeeds = []struct {
	pkg, shipped  string
	users, groups []string
}{
	{"base-files", "/usr/share/base-files/profile", nil, []string{"mail", "staff", "utmp"}},
	{"nginx-common", "/usr/share/nginx/html/index.html", []string{"www-data"}, []string{"adm", "www-data"}},
	{"passwd", "/usr/sbin/pwconv", nil, []string{"shadow"}}, // postinst: groupadd -g 42 shadow
}

const (
	passwdMaster = "/usr/share/base-passwd/passwd.master"
	groupMaster  = "/usr/share/base-passwd/group.master"
)

// accounts replicates base-passwd's preinst (/etc/passwd and /etc/group from
// the masters when absent) and passwd's `shadowconfig on` (/etc/shadow and
// /etc/gshadow, locked with *), and adds the accounts that newly unpacked
// packages expect. Base accounts are never dropped or changed.
func accounts(s *state) (string, error) {
	v := s.v
	users, groups := map[string]bool{}, map[string]bool{}
	for _, n := range accountNeeds {
		if !s.has(n.pkg, n.shipped) {
			continue
		}
		for _, u := range n.users {
			users[u] = true
		}
		for _, g := range n.groups {
			groups[g] = true
		}
	}
	fresh := s.has("base-passwd", passwdMaster)
	basePw, hasPw := v.readFile("/etc/passwd")
	baseGr, hasGr := v.readFile("/etc/group")
	if !fresh && len(users) == 0 && len(groups) == 0 {
		return "", nil
	}
	pwMaster, ok := v.readFile(passwdMaster)
	if !ok {
		return "", fmt.Errorf("%s is missing (is base-passwd installed?)", passwdMaster)
	}
	grMaster, ok := v.readFile(groupMaster)
	if !ok {
		return "", fmt.Errorf("%s is missing (is base-passwd installed?)", groupMaster)
	}
	// Like the preinst, a missing file gets every master entry; so does an
	// existing one when base-passwd itself is new, as update-passwd would.
	wantUsers, wantGroups := users, groups
	if fresh || !hasPw {
		wantUsers = nil
	}
	if fresh || !hasGr {
		wantGroups = nil
	}
	pw, addedUsers, err := mergeAccounts("/etc/passwd", basePw, pwMaster, wantUsers, users)
	if err != nil {
		return "", err
	}
	gr, addedGroups, err := mergeAccounts("/etc/group", baseGr, grMaster, wantGroups, groups)
	if err != nil {
		return "", err
	}
	var wrote []string
	if !bytes.Equal(pw, basePw) {
		if err := v.writeFile("/etc/passwd", 0o644, 0, 0, pw); err != nil {
			return "", err
		}
		wrote = append(wrote, "/etc/passwd")
	}
	if !bytes.Equal(gr, baseGr) {
		if err := v.writeFile("/etc/group", 0o644, 0, 0, gr); err != nil {
			return "", err
		}
		wrote = append(wrote, "/etc/group")
	}
	shadowGID := 0
	if id, ok := lookupID(gr, "shadow"); ok {
		shadowGID = id
	}
	// pwconv creates the shadow files from scratch; later additions (adduser,
	// update-passwd) append to them.
	full := !hasPw || s.has("passwd", "/usr/sbin/pwconv")
	for _, f := range []struct {
		path  string
		db    []byte
		added []string
		line  func(fields []string) string
	}{
		{"/etc/shadow", pw, addedUsers, func(f []string) string { return f[0] + ":*::0:99999:7:::" }},
		{"/etc/gshadow", gr, addedGroups, func(f []string) string { return f[0] + ":*::" + field(f, 3) }},
	} {
		old, has := v.readFile(f.path)
		names := f.added
		if !has {
			if !full {
				continue
			}
			names = accountNames(f.db)
		}
		out := appendLines(old, names, f.db, f.line)
		if has && bytes.Equal(out, old) {
			continue
		}
		if err := v.writeFile(f.path, 0o640, 0, shadowGID, out); err != nil {
			return "", err
		}
		wrote = append(wrote, f.path)
	}
	if len(wrote) == 0 {
		return "", nil
	}
	what := "base-passwd: " + strings.Join(wrote, " ")
	if hasPw && len(addedUsers)+len(addedGroups) > 0 {
		what += fmt.Sprintf(" (added users %v, groups %v)", addedUsers, addedGroups)
	}
	return what, nil
}

// mergeAccounts appends to have (an /etc/passwd or /etc/group) the master
// entries named in want, or all of them when want is nil, that have lacks,
// with the password field set to x. An entry whose id have gives to another
// name is skipped, or is an error when required names it.
func mergeAccounts(file string, have, master []byte, want, required map[string]bool) ([]byte, []string, error) {
	names, ids := map[string]bool{}, map[int]string{}
	for _, f := range records(have) {
		names[f[0]] = true
		if id, err := strconv.Atoi(field(f, 2)); err == nil {
			ids[id] = f[0]
		}
	}
	out := append([]byte(nil), have...)
	if len(out) > 0 && out[len(out)-1] != '\n' {
		out = append(out, '\n')
	}
	var added []string
	inMaster := map[string]bool{}
	for _, f := range records(master) {
		name := f[0]
		inMaster[name] = true
		if (want != nil && !want[name]) || names[name] {
			continue
		}
		id, err := strconv.Atoi(field(f, 2))
		if err != nil {
			return nil, nil, fmt.Errorf("%s: base-passwd's master entry for %s has no numeric id", file, name)
		}
		if other, taken := ids[id]; taken {
			if required[name] {
				return nil, nil, fmt.Errorf("%s: a package needs %s with id %d, but the base gives that id to %s", file, name, id, other)
			}
			continue
		}
		f[1] = "x"
		out = append(out, strings.Join(f, ":")+"\n"...)
		names[name], ids[id] = true, name
		added = append(added, name)
	}
	var missing []string
	for name := range required {
		if !names[name] && !inMaster[name] {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, nil, fmt.Errorf("%s: packages need %s, which base-passwd's master does not define", file, strings.Join(missing, ", "))
	}
	return out, added, nil
}

// records splits an /etc/passwd-style file into the fields of its entries,
// skipping blank lines, comments and NIS "+"/"-" lines.
func records(data []byte) [][]string {
	var out [][]string
	for _, line := range strings.Split(string(data), "\n") {
		if line == "" || line[0] == '#' || line[0] == '+' || line[0] == '-' {
			continue
		}
		out = append(out, strings.Split(line, ":"))
	}
	return out
}

func field(f []string, i int) string {
	if i < len(f) {
		return f[i]
	}
	return ""
}

func accountNames(db []byte) []string {
	var out []string
	for _, f := range records(db) {
		out = append(out, f[0])
	}
	return out
}

// appendLines adds to old a line, built from the entry of db, for each of
// names that old has no entry for.
func appendLines(old []byte, names []string, db []byte, line func([]string) string) []byte {
	byName := map[string][]string{}
	for _, f := range records(db) {
		byName[f[0]] = f
	}
	present := map[string]bool{}
	for _, f := range records(old) {
		present[f[0]] = true
	}
	out := append([]byte(nil), old...)
	if len(out) > 0 && out[len(out)-1] != '\n' {
		out = append(out, '\n')
	}
	for _, n := range names {
		if f, ok := byName[n]; ok && !present[n] {
			out = append(out, line(f)+"\n"...)
			present[n] = true
		}
	}
	return out
}

// lookupID returns the id of name in an /etc/passwd or /etc/group.
func lookupID(db []byte, name string) (int, bool) {
	for _, f := range records(db) {
		if f[0] == name {
			id, err := strconv.Atoi(field(f, 2))
			return id, err == nil
		}
	}
	return 0, false
}

// uid and gid resolve an owner by name, as chown does, from the accounts
// the image will have.
func (s *state) uid(name string) (int, error) { return s.owner("/etc/passwd", name) }
func (s *state) gid(name string) (int, error) { return s.owner("/etc/group", name) }

func (s *state) owner(file, name string) (int, error) {
	db, _ := s.v.readFile(file)
	id, ok := lookupID(db, name)
	if !ok {
		return 0, fmt.Errorf("%s has no %s", file, name)
	}
	return id, nil
}
