package verify

import (
	"bytes"
	"path"
	"regexp"
	"strings"
)

// tokenPatterns are credential formats recognisable on their own. prefix is
// a cheap filter run before the expression.
var tokenPatterns = []struct {
	kind, prefix string
	re           *regexp.Regexp
}{
	{"private key", "PRIVATE KEY-----", regexp.MustCompile(`-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----`)},
	{"AWS access key", "AKIA", regexp.MustCompile(`\bAKIA[0-9A-Z]{16}\b`)},
	{"GitHub token", "gh", regexp.MustCompile(`\bgh[pousr]_[A-Za-z0-9]{36}\b`)},
	{"GitHub token", "github_pat_", regexp.MustCompile(`\bgithub_pat_[A-Za-z0-9_]{22,}`)},
	{"GitLab token", "glpat-", regexp.MustCompile(`\bglpat-[A-Za-z0-9_-]{20,}`)},
	{"Slack token", "xox", regexp.MustCompile(`\bxox[abposr]-[A-Za-z0-9-]{10,}`)},
}

// exampleKeys are documented placeholder credentials that libraries ship in
// their docs and tests.
var exampleKeys = []string{"AKIAIOSFODNN7EXAMPLE", "AKIAI44QH8DHBEXAMPLE"}

// contentSecrets returns the kinds of credentials in data, each once.
func contentSecrets(data []byte) []string {
	var kinds []string
	for _, p := range tokenPatterns {
		if !bytes.Contains(data, []byte(p.prefix)) {
			continue
		}
		for _, m := range p.re.FindAll(data, -1) {
			if !isExample(string(m)) {
				if len(kinds) == 0 || kinds[len(kinds)-1] != p.kind {
					kinds = append(kinds, p.kind)
				}
				break
			}
		}
	}
	return kinds
}

func isExample(m string) bool {
	for _, e := range exampleKeys {
		if m == e {
			return true
		}
	}
	return false
}

// nameSecret returns the kind of credential file p is by its name, or "".
func nameSecret(p string) string {
	base := path.Base(p)
	switch base {
	case ".netrc", ".pypirc", ".git-credentials", ".npmrc":
		return base + " file"
	case "id_rsa", "id_dsa", "id_ecdsa", "id_ed25519":
		return "SSH private key"
	case ".env":
		return ".env file"
	}
	if rest, ok := strings.CutPrefix(base, ".env."); ok {
		switch rest {
		case "example", "sample", "template", "dist":
			return ""
		}
		return ".env file"
	}
	if path.Base(path.Dir(p)) == ".aws" && base == "credentials" {
		return "AWS credentials file"
	}
	return ""
}

// secretName reports whether an environment variable or label name says
// its value is a credential.
func secretName(name string) bool {
	n := strings.ToUpper(name)
	for _, w := range []string{"PASSWORD", "PASSWD", "SECRET", "TOKEN", "API_KEY", "APIKEY", "PRIVATE_KEY", "ACCESS_KEY"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}
