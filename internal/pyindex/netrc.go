package pyindex

import (
	"errors"
	"fmt"
	"strings"
)

// netrc is a parsed netrc file: machine entries in file order (the first
// for a host wins, as curl does) and the optional default entry.
type netrc struct {
	machines []*netrcEntry
	def      *netrcEntry
}

type netrcEntry struct {
	host, login, password string
}

// lookup returns the login and password for host: the first machine entry
// naming it (case-insensitively), else the default entry.
func (n *netrc) lookup(host string) (string, string, bool) {
	for _, m := range n.machines {
		if strings.EqualFold(m.host, host) {
			return m.login, m.password, m.login != "" || m.password != ""
		}
	}
	if d := n.def; d != nil {
		return d.login, d.password, d.login != "" || d.password != ""
	}
	return "", "", false
}

// parseNetrc reads the netrc format curl and Python accept: whitespace
// separated words, "machine NAME" or "default" starting an entry, then
// "login", "password" and "account" with a value each; a value may be
// double-quoted with backslash escapes. "macdef NAME" is followed by a
// macro body up to a blank line, which is skipped; a word starting with
// "#" comments out the rest of its line. Errors give a line number, never
// the text, which may be a password.
func parseNetrc(data []byte) (*netrc, error) {
	lx := &netrcLexer{s: string(data), line: 1}
	n := &netrc{}
	var cur *netrcEntry
	for {
		tok, line, ok, err := lx.word()
		if err != nil {
			return nil, err
		}
		if !ok {
			return n, nil
		}
		switch tok {
		case "machine":
			host, ok, err := lx.value()
			if err != nil {
				return nil, err
			}
			if !ok {
				return nil, fmt.Errorf("line %d: machine without a name", line)
			}
			cur = &netrcEntry{host: host}
			n.machines = append(n.machines, cur)
		case "default":
			cur = &netrcEntry{}
			n.def = cur
		case "login", "password", "account":
			v, ok, err := lx.value()
			if err != nil {
				return nil, err
			}
			if !ok {
				return nil, fmt.Errorf("line %d: %s without a value", line, tok)
			}
			if cur == nil {
				return nil, fmt.Errorf("line %d: %s before any machine or default entry", line, tok)
			}
			switch tok {
			case "login":
				cur.login = v
			case "password":
				cur.password = v
			}
		case "macdef":
			if _, _, err := lx.value(); err != nil {
				return nil, err
			}
			lx.skipMacro()
			cur = nil
		default:
			if strings.HasPrefix(tok, "#") {
				lx.skipLine()
				continue
			}
			return nil, fmt.Errorf("line %d: unexpected word (quote a value that contains spaces)", line)
		}
	}
}

type netrcLexer struct {
	s    string
	i    int
	line int
}

func isNetrcSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

// word returns the next keyword and the line it starts on.
func (lx *netrcLexer) word() (string, int, bool, error) {
	lx.skipSpace()
	line := lx.line
	w, ok, err := lx.value()
	return w, line, ok, err
}

func (lx *netrcLexer) skipSpace() {
	for lx.i < len(lx.s) && isNetrcSpace(lx.s[lx.i]) {
		if lx.s[lx.i] == '\n' {
			lx.line++
		}
		lx.i++
	}
}

// value returns the next word, unquoting a double-quoted one.
func (lx *netrcLexer) value() (string, bool, error) {
	lx.skipSpace()
	if lx.i >= len(lx.s) {
		return "", false, nil
	}
	if lx.s[lx.i] != '"' {
		start := lx.i
		for lx.i < len(lx.s) && !isNetrcSpace(lx.s[lx.i]) {
			lx.i++
		}
		return lx.s[start:lx.i], true, nil
	}
	line := lx.line
	lx.i++
	var b strings.Builder
	for lx.i < len(lx.s) {
		c := lx.s[lx.i]
		lx.i++
		switch c {
		case '"':
			return b.String(), true, nil
		case '\\':
			if lx.i < len(lx.s) {
				c = lx.s[lx.i]
				lx.i++
			}
		}
		if c == '\n' {
			lx.line++
		}
		b.WriteByte(c)
	}
	return "", false, fmt.Errorf("line %d: %w", line, errUnterminated)
}

var errUnterminated = errors.New("unterminated quoted value")

func (lx *netrcLexer) skipLine() {
	for lx.i < len(lx.s) && lx.s[lx.i] != '\n' {
		lx.i++
	}
}

// skipMacro skips the rest of the macdef line and the body that follows,
// up to and including the first blank line.
func (lx *netrcLexer) skipMacro() {
	lx.skipLine()
	for lx.i < len(lx.s) {
		lx.i++ // the newline
		lx.line++
		end := strings.IndexByte(lx.s[lx.i:], '\n')
		if end < 0 {
			end = len(lx.s) - lx.i
		}
		body := lx.s[lx.i : lx.i+end]
		lx.i += end
		if strings.TrimSpace(body) == "" {
			return
		}
	}
}
