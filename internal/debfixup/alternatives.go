package debfixup

import (
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/kiln-build/kiln/internal/layer"
)

// altLink is a master or slave link of an alternative group.
type altLink struct{ name, link string }

// altChoice is one `update-alternatives --install` from a postinst.
type altChoice struct {
	pkg      string
	master   altLink
	path     string
	priority int
	slaves   map[string]string // slave name -> the file this choice offers
	slaveAt  map[string]string // slave name -> its link
}

func choice(pkg, name, link, target string, priority int, slaves ...[3]string) altChoice {
	c := altChoice{pkg: pkg, master: altLink{name, link}, path: target, priority: priority,
		slaves: map[string]string{}, slaveAt: map[string]string{}}
	for _, s := range slaves {
		c.slaveAt[s[0]], c.slaves[s[0]] = s[1], s[2]
	}
	return c
}

// alternativeTable holds the update-alternatives calls of the postinsts of
// bookworm's mawk, gawk, tar and debianutils, with their priorities.
var alternativeTable = func() []altChoice {
	awk := func(pkg string, prio int) altChoice {
		bin := "/usr/bin/" + pkg
		man := "/usr/share/man/man1/" + pkg + ".1.gz"
		return choice(pkg, "awk", "/usr/bin/awk", bin, prio,
			[3]string{"awk.1.gz", "/usr/share/man/man1/awk.1.gz", man},
			[3]string{"nawk", "/usr/bin/nawk", bin},
			[3]string{"nawk.1.gz", "/usr/share/man/man1/nawk.1.gz", man})
	}
	which := []([3]string){{"which.1.gz", "/usr/share/man/man1/which.1.gz", "/usr/share/man/man1/which.debianutils.1.gz"}}
	for _, lang := range []string{"de", "es", "fr", "it", "ja", "pl", "sl"} {
		which = append(which, [3]string{"which." + lang + "1.gz", "/usr/share/man/" + lang + "/man1/which.1.gz",
			"/usr/share/man/" + lang + "/man1/which.debianutils.1.gz"})
	}
	return []altChoice{
		awk("mawk", 5),
		awk("gawk", 10),
		choice("tar", "rmt", "/usr/sbin/rmt", "/usr/sbin/rmt-tar", 50,
			[3]string{"rmt.8.gz", "/usr/share/man/man8/rmt.8.gz", "/usr/share/man/man8/rmt-tar.8.gz"}),
		choice("debianutils", "which", "/usr/bin/which", "/usr/bin/which.debianutils", 0, which...),
	}
}()

// altGroup is an alternative as /var/lib/dpkg/alternatives/<name> records it.
type altGroup struct {
	mode    string // auto or manual
	link    string
	slaves  []altLink // sorted by name
	choices []altChoice
}

const altAdmin = "/var/lib/dpkg/alternatives/"

// alternatives replicates the update-alternatives --install calls of newly
// unpacked packages: in auto mode the highest priority wins, with links
// link -> /etc/alternatives/<name> -> choice, slaves only where the chosen
// file exists; the admin file records every choice. A group the base set to
// manual keeps its links.
func alternatives(s *state) (string, error) {
	v := s.v
	byName := map[string][]altChoice{}
	var names []string
	for _, c := range alternativeTable {
		if !s.has(c.pkg, c.path) {
			continue
		}
		if byName[c.master.name] == nil {
			names = append(names, c.master.name)
		}
		byName[c.master.name] = append(byName[c.master.name], c)
	}
	sort.Strings(names)
	var did []string
	for _, name := range names {
		g := &altGroup{mode: "auto"}
		if data, ok := v.readFile(altAdmin + name); ok {
			var err error
			if g, err = parseAltAdmin(data); err != nil {
				return "", fmt.Errorf("%s%s: %w", altAdmin, name, err)
			}
		}
		for _, c := range byName[name] {
			g.add(c)
		}
		if g.mode == "auto" {
			if err := g.makeLinks(v, name); err != nil {
				return "", err
			}
			did = append(did, name+" -> "+g.best().path)
		} else {
			did = append(did, name+" (manual, links kept)")
		}
		if err := v.writeFile(altAdmin+name, 0o644, 0, 0, g.admin()); err != nil {
			return "", err
		}
	}
	if len(did) == 0 {
		return "", nil
	}
	return "alternatives: " + strings.Join(did, ", "), nil
}

// add installs c into g, replacing an earlier choice of the same path.
func (g *altGroup) add(c altChoice) {
	g.link = c.master.link
	for name, at := range c.slaveAt {
		found := false
		for _, s := range g.slaves {
			found = found || s.name == name
		}
		if !found {
			g.slaves = append(g.slaves, altLink{name, at})
		}
	}
	sort.Slice(g.slaves, func(i, j int) bool { return g.slaves[i].name < g.slaves[j].name })
	kept := g.choices[:0]
	for _, old := range g.choices {
		if old.path != c.path {
			kept = append(kept, old)
		}
	}
	g.choices = append(kept, c)
	sort.Slice(g.choices, func(i, j int) bool { return g.choices[i].path < g.choices[j].path })
}

// best is the choice auto mode selects: the highest priority, the first
// path on a tie.
func (g *altGroup) best() altChoice {
	b := g.choices[0]
	for _, c := range g.choices[1:] {
		if c.priority > b.priority {
			b = c
		}
	}
	return b
}

func (g *altGroup) makeLinks(v *view, name string) error {
	b := g.best()
	if err := v.symlink("/etc/alternatives/"+name, b.path); err != nil {
		return err
	}
	if err := linkUnlessFile(v, g.link, "/etc/alternatives/"+name); err != nil {
		return err
	}
	for _, sl := range g.slaves {
		target := b.slaves[sl.name]
		if target == "" || !v.exists(target) {
			continue // update-alternatives skips a slave whose file is missing
		}
		if err := v.symlink("/etc/alternatives/"+sl.name, target); err != nil {
			return err
		}
		if err := linkUnlessFile(v, sl.link, "/etc/alternatives/"+sl.name); err != nil {
			return err
		}
	}
	return nil
}

// linkUnlessFile makes the link, unless the new tree ships a real file
// there, which update-alternatives refuses to replace.
func linkUnlessFile(v *view, link, target string) error {
	if e, ok := v.tree.Get(rel(link)); ok && e.Kind != layer.Symlink {
		return nil
	}
	return v.symlink(link, target)
}

// admin renders the group in update-alternatives' admin file format.
func (g *altGroup) admin() []byte {
	var b strings.Builder
	b.WriteString(g.mode + "\n" + g.link + "\n")
	for _, s := range g.slaves {
		b.WriteString(s.name + "\n" + s.link + "\n")
	}
	b.WriteString("\n")
	for _, c := range g.choices {
		b.WriteString(c.path + "\n" + strconv.Itoa(c.priority) + "\n")
		for _, s := range g.slaves {
			b.WriteString(c.slaves[s.name] + "\n")
		}
	}
	b.WriteString("\n")
	return []byte(b.String())
}

// parseAltAdmin reads an admin file of update-alternatives.
func parseAltAdmin(data []byte) (*altGroup, error) {
	ls := strings.Split(string(data), "\n")
	next := func() (string, bool) {
		if len(ls) == 0 {
			return "", false
		}
		l := ls[0]
		ls = ls[1:]
		return l, true
	}
	g := &altGroup{}
	var ok bool
	if g.mode, ok = next(); !ok || (g.mode != "auto" && g.mode != "manual") {
		return nil, fmt.Errorf("mode %q is neither auto nor manual", g.mode)
	}
	if g.link, ok = next(); !ok || !path.IsAbs(g.link) {
		return nil, fmt.Errorf("master link %q is not absolute", g.link)
	}
	for {
		name, ok := next()
		if !ok {
			return nil, fmt.Errorf("truncated slave list")
		}
		if name == "" {
			break
		}
		link, ok := next()
		if !ok || !path.IsAbs(link) {
			return nil, fmt.Errorf("slave %s: link %q is not absolute", name, link)
		}
		g.slaves = append(g.slaves, altLink{name, link})
	}
	for {
		p, ok := next()
		if !ok {
			return nil, fmt.Errorf("truncated choice list")
		}
		if p == "" {
			break
		}
		prio, _ := next()
		n, err := strconv.Atoi(prio)
		if err != nil {
			return nil, fmt.Errorf("choice %s: priority %q: %w", p, prio, err)
		}
		c := altChoice{master: altLink{link: g.link}, path: p, priority: n, slaves: map[string]string{}}
		for _, s := range g.slaves {
			t, ok := next()
			if !ok {
				return nil, fmt.Errorf("choice %s: truncated slave list", p)
			}
			c.slaves[s.name] = t
		}
		g.choices = append(g.choices, c)
	}
	sort.Slice(g.slaves, func(i, j int) bool { return g.slaves[i].name < g.slaves[j].name })
	sort.Slice(g.choices, func(i, j int) bool { return g.choices[i].path < g.choices[j].path })
	return g, nil
}
