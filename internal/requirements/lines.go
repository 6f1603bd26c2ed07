package requirements

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// logicalLine is one requirement or option line after pip's preprocessing:
// continuations joined, comments dropped, surrounding whitespace stripped.
type logicalLine struct {
	n    int // 1-based number of its first physical line
	text string
}

// decode turns file bytes into text. pip honours byte-order marks, then a
// PEP 263 coding line, then the locale; kiln takes the marks (UTF-16 is what
// `pip freeze > requirements.txt` writes in Windows PowerShell) and
// otherwise requires UTF-8 rather than guess.
func decode(data []byte) (string, error) {
	switch {
	case bytes.HasPrefix(data, []byte{0xEF, 0xBB, 0xBF}):
		data = data[3:]
	case bytes.HasPrefix(data, []byte{0xFF, 0xFE, 0, 0}), bytes.HasPrefix(data, []byte{0, 0, 0xFE, 0xFF}):
		return "", errors.New("UTF-32 text is not supported: save the file as UTF-8")
	case bytes.HasPrefix(data, []byte{0xFF, 0xFE}):
		return decodeUTF16(data[2:], false)
	case bytes.HasPrefix(data, []byte{0xFE, 0xFF}):
		return decodeUTF16(data[2:], true)
	}
	if !utf8.Valid(data) {
		for i := 0; i < len(data); {
			r, size := utf8.DecodeRune(data[i:])
			if r == utf8.RuneError && size == 1 {
				return "", fmt.Errorf("line %d: not UTF-8 text", 1+bytes.Count(data[:i], []byte{'\n'}))
			}
			i += size
		}
	}
	return string(data), nil
}

func decodeUTF16(data []byte, bigEndian bool) (string, error) {
	if len(data)%2 != 0 {
		return "", errors.New("UTF-16 text with an odd number of bytes")
	}
	units := make([]uint16, len(data)/2)
	for i := range units {
		if bigEndian {
			units[i] = uint16(data[2*i])<<8 | uint16(data[2*i+1])
		} else {
			units[i] = uint16(data[2*i+1])<<8 | uint16(data[2*i])
		}
	}
	return string(utf16.Decode(units)), nil
}

// isSpace is Python's str.isspace, which pip's strip() and the `\s` of its
// comment pattern use: Unicode White_Space plus the information separators
// U+001C..U+001F.
func isSpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
}

// splitLines is Python's str.splitlines: every line boundary it knows, with
// "\r\n" as one, and no empty last line for a trailing newline.
func splitLines(s string) []string {
	var lines []string
	start := 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch r {
		case '\n', '\v', '\f', 0x1c, 0x1d, 0x1e, 0x85, 0x2028, 0x2029:
			lines = append(lines, s[start:i])
			i += size
			start = i
		case '\r':
			lines = append(lines, s[start:i])
			i += size
			if i < len(s) && s[i] == '\n' {
				i++
			}
			start = i
		default:
			i += size
		}
	}
	if start < len(s) {
		lines = append(lines, s[start:])
	}
	return lines
}

// isCommentLine reports whether the line is a comment from its start (pip's
// COMMENT_RE.match): such a line never continues, even if it ends in `\`.
func isCommentLine(line string) bool {
	return strings.HasPrefix(strings.TrimLeftFunc(line, isSpace), "#")
}

// stripComment cuts the line at the first '#' that starts it or follows
// whitespace; a '#' inside a word, as in a URL fragment, stays.
func stripComment(line string) string {
	prev := ' '
	for i, r := range line {
		if r == '#' && isSpace(prev) {
			return line[:i]
		}
		prev = r
	}
	return line
}

// logicalLines applies pip's preprocessing (join_lines, then
// ignore_comments) to the text of a file.
func logicalLines(text string) []logicalLine {
	var out []logicalLine
	emit := func(n int, line string) {
		line = strings.TrimFunc(stripComment(line), isSpace)
		if line != "" {
			out = append(out, logicalLine{n: n, text: line})
		}
	}
	var joined strings.Builder
	first := 0 // line number of the pending continuation; 0 when none
	for i, line := range splitLines(text) {
		comment := isCommentLine(line)
		if !strings.HasSuffix(line, `\`) || comment {
			if comment {
				// A comment ends a continuation and must still read as
				// one once joined to it.
				line = " " + line
			}
			if first != 0 {
				joined.WriteString(line)
				emit(first, joined.String())
				joined.Reset()
				first = 0
			} else {
				emit(i+1, line)
			}
			continue
		}
		if first == 0 {
			first = i + 1
		}
		// pip strips backslashes from both ends of a continued line.
		joined.WriteString(strings.Trim(line, `\`))
	}
	if first != 0 {
		emit(first, joined.String())
	}
	return out
}

// splitArgsOptions is pip's break_args_options: the line splits on single
// spaces, and everything from the first word starting with "-" is options.
// The requirement part is kept as written because shell-style splitting
// would mangle the quotes of a marker.
func splitArgsOptions(line string) (args, options string) {
	words := strings.Split(line, " ")
	for i, w := range words {
		if strings.HasPrefix(w, "-") {
			return strings.Join(words[:i], " "), strings.Join(words[i:], " ")
		}
	}
	return line, ""
}

// shellSplit is Python's shlex.split in POSIX mode, which pip applies to the
// options part of a line: single quotes are literal, in double quotes a
// backslash escapes only '"' and '\', elsewhere it escapes any character.
func shellSplit(s string) ([]string, error) {
	var words []string
	var word strings.Builder
	inWord := false // a word is open, possibly empty ('' or "")
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case ' ', '\t', '\r', '\n':
			if inWord {
				words = append(words, word.String())
				word.Reset()
				inWord = false
			}
		case '\\':
			if i+1 == len(s) {
				return nil, errors.New("a backslash ends the options")
			}
			i++
			word.WriteByte(s[i])
			inWord = true
		case '\'':
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				return nil, errors.New("unclosed single quote in the options")
			}
			word.WriteString(s[i+1 : i+1+end])
			i += 1 + end
			inWord = true
		case '"':
			closed := false
			for i++; i < len(s); i++ {
				if s[i] == '"' {
					closed = true
					break
				}
				if s[i] == '\\' && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\') {
					i++
				}
				word.WriteByte(s[i])
			}
			if !closed {
				return nil, errors.New("unclosed double quote in the options")
			}
			inWord = true
		default:
			word.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, word.String())
	}
	return words, nil
}
