package debfixup

import (
	"bytes"
	"crypto/sha1"
	"encoding/asn1"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"unicode/utf8"
)

// nameHash is OpenSSL's X509_NAME_hash (the "new" subject hash that
// `openssl rehash` names links after): the first four bytes, little-endian,
// of the SHA-1 of the name's canonical encoding. raw is a DER Name, as in
// x509.Certificate.RawSubject.
func nameHash(raw []byte) (uint32, error) {
	c, err := canonicalName(raw)
	if err != nil {
		return 0, err
	}
	sum := sha1.Sum(c)
	return binary.LittleEndian.Uint32(sum[:4]), nil
}

type attribute struct {
	Type  asn1.RawValue
	Value asn1.RawValue
}

// relativeNameSET decodes as an ASN.1 SET OF (encoding/asn1 goes by the
// type name's suffix).
type relativeNameSET []attribute

// canonicalName re-encodes a Name as OpenSSL's x509_name_canon does: each
// RDN's SET on its own, concatenated with no outer SEQUENCE; every string
// value of a textual type becomes a UTF8String with ASCII letters
// lowercased, leading and trailing white space dropped and inner runs of it
// collapsed to one space; other values are kept. Empty RDNs contribute
// nothing, and an empty name encodes as nothing.
func canonicalName(raw []byte) ([]byte, error) {
	var rdns []relativeNameSET
	rest, err := asn1.Unmarshal(raw, &rdns)
	if err != nil {
		return nil, fmt.Errorf("name: %w", err)
	}
	if len(rest) > 0 {
		return nil, errors.New("name: trailing data")
	}
	var out []byte
	for _, rdn := range rdns {
		if len(rdn) == 0 {
			continue
		}
		elems := make([][]byte, 0, len(rdn))
		for _, a := range rdn {
			if a.Type.Class != asn1.ClassUniversal || a.Type.Tag != asn1.TagOID {
				return nil, errors.New("name: attribute type is not an OID")
			}
			val, err := canonicalValue(a.Value)
			if err != nil {
				return nil, err
			}
			elems = append(elems, tlv(0x30, append(tlv(asn1.TagOID, a.Type.Bytes), val...)))
		}
		// DER orders the members of a SET OF by their encodings.
		sort.Slice(elems, func(i, j int) bool { return bytes.Compare(elems[i], elems[j]) < 0 })
		out = append(out, tlv(0x31, bytes.Join(elems, nil))...)
	}
	return out, nil
}

// bytesPerChar gives the string types OpenSSL canonicalises
// (ASN1_MASK_CANON) and the width ASN1_STRING_to_UTF8 reads them with:
// 0 for UTF-8, 1 for Latin-1 (T61String included), 2 for UCS-2, 4 for UCS-4.
var bytesPerChar = map[int]int{
	asn1.TagUTF8String:      0,
	asn1.TagPrintableString: 1,
	asn1.TagT61String:       1,
	asn1.TagIA5String:       1,
	26:                      1, // VisibleString
	asn1.TagBMPString:       2,
	28:                      4, // UniversalString
}

func canonicalValue(v asn1.RawValue) ([]byte, error) {
	width, textual := bytesPerChar[v.Tag]
	if v.Class != asn1.ClassUniversal || v.IsCompound || !textual {
		if v.Class == asn1.ClassUniversal && !v.IsCompound && v.Tag < 31 {
			return tlv(byte(v.Tag), v.Bytes), nil
		}
		return v.FullBytes, nil
	}
	s, err := toUTF8(v.Bytes, width)
	if err != nil {
		return nil, fmt.Errorf("name: string of type %d: %w", v.Tag, err)
	}
	return tlv(asn1.TagUTF8String, foldSpaceAndCase(s)), nil
}

func toUTF8(b []byte, width int) ([]byte, error) {
	if width == 0 {
		if !utf8.Valid(b) {
			return nil, errors.New("invalid UTF-8")
		}
		return b, nil
	}
	if len(b)%width != 0 {
		return nil, fmt.Errorf("length %d is not a multiple of %d", len(b), width)
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i += width {
		var r uint32
		for _, c := range b[i : i+width] {
			r = r<<8 | uint32(c)
		}
		if r > utf8.MaxRune || (r >= 0xd800 && r <= 0xdfff) {
			return nil, fmt.Errorf("character %#x cannot be encoded in UTF-8", r)
		}
		out = utf8.AppendRune(out, rune(r))
	}
	return out, nil
}

// isSpace is OpenSSL's ossl_isspace: ASCII blanks only.
func isSpace(c byte) bool { return c == ' ' || (c >= '\t' && c <= '\r') }

func foldSpaceAndCase(s []byte) []byte {
	for len(s) > 0 && isSpace(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && isSpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isSpace(c):
			out = append(out, ' ')
			for i+1 < len(s) && isSpace(s[i+1]) {
				i++
			}
		case c >= 'A' && c <= 'Z':
			out = append(out, c+('a'-'A'))
		default:
			out = append(out, c)
		}
	}
	return out
}

// tlv encodes one DER element with a single-byte tag.
func tlv(tag byte, content []byte) []byte {
	n := len(content)
	out := []byte{tag}
	if n < 0x80 {
		out = append(out, byte(n))
	} else {
		var l []byte
		for ; n > 0; n >>= 8 {
			l = append([]byte{byte(n)}, l...)
		}
		out = append(out, 0x80|byte(len(l)))
		out = append(out, l...)
	}
	return append(out, content...)
}
