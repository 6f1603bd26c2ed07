package requirements

import "strings"

// Redact hides the credentials of every URL in s, which may be one URL or
// text holding several: as pip shows index URLs, "https://user:pass@host/"
// becomes "https://user:****@host/", and a user given without a password
// (often a token) becomes "****". It errs on the side of hiding: the
// userinfo runs to the last '@' before whitespace, a quote, the next "://"
// or the end, so a
// password with an unescaped '/', '?' or '#' is hidden whole, at the price of
// also hiding the host of a URL with an '@' in its path or query.
func Redact(s string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, "://")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i+3])
		s = s[i+3:]
		end := strings.IndexAny(s, " \t\r\n\"'<>`")
		if end < 0 {
			end = len(s)
		}
		if next := strings.Index(s[:end], "://"); next >= 0 {
			end = next // another URL, in a query say, is redacted on its own
		}
		at := strings.LastIndexByte(s[:end], '@')
		if at < 0 {
			continue
		}
		user, _, hasPassword := strings.Cut(s[:at], ":")
		if hasPassword && !strings.ContainsAny(user, "/@") {
			b.WriteString(user + ":****@")
		} else {
			b.WriteString("****@")
		}
		s = s[at+1:]
	}
}
