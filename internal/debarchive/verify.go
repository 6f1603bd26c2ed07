package debarchive

import (
	"bytes"
	"crypto"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/clearsign"
	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

var clearsignHeader = []byte("-----BEGIN PGP SIGNED MESSAGE-----")

// strongHashes are the digests a signature may use; go-crypto's v1 API
// does not refuse SHA-1 itself, and apt has treated it as weak since 2016.
var strongHashes = map[crypto.Hash]bool{
	crypto.SHA224: true, crypto.SHA256: true, crypto.SHA384: true, crypto.SHA512: true,
	crypto.SHA3_256: true, crypto.SHA3_512: true,
}

// verifyClearsigned returns the signed text of a clearsigned message when at
// least one of its signatures verifies with an unexpired, unrevoked key of
// keyring and a strong hash. Nothing outside the signed text is returned,
// and a message with anything before or after the signed block is refused,
// so that unsigned lines can never be mistaken for signed ones.
func verifyClearsigned(data []byte, keyring openpgp.EntityList, now time.Time) ([]byte, error) {
	if !bytes.HasPrefix(data, clearsignHeader) {
		return nil, errors.New("not a clearsigned message")
	}
	b, rest := clearsign.Decode(data)
	if b == nil {
		return nil, errors.New("malformed clearsigned message")
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, errors.New("data after the signature block")
	}
	if b.ArmoredSignature.Type != openpgp.SignatureType {
		return nil, fmt.Errorf("signature block is a %q", b.ArmoredSignature.Type)
	}
	sigs, err := io.ReadAll(b.ArmoredSignature.Body)
	if err != nil {
		return nil, fmt.Errorf("signature block: %w", err)
	}
	issuers, err := signatureIssuers(sigs)
	if err != nil {
		return nil, err
	}

	// go-crypto checks only the first signature whose issuer is in the
	// keyring, so an expired key listed first would hide a valid signature
	// from a later one. Verifying against one entity at a time gives every
	// trusted key its chance.
	cfg := &packet.Config{Time: func() time.Time { return now }}
	var reasons []string
	for _, e := range keyring {
		sig, _, err := openpgp.VerifyDetachedSignature(openpgp.EntityList{e}, bytes.NewReader(b.Bytes), bytes.NewReader(sigs), cfg)
		switch {
		case errors.Is(err, pgperrors.ErrUnknownIssuer):
			continue
		case err != nil:
			reasons = append(reasons, fmt.Sprintf("%s: %v", keyName(e), err))
		case !strongHashes[sig.Hash]:
			reasons = append(reasons, fmt.Sprintf("%s: signature uses the weak hash %v", keyName(e), sig.Hash))
		default:
			return b.Plaintext, nil
		}
	}
	if len(reasons) == 0 {
		return nil, fmt.Errorf("no valid signature from a trusted key: signed by %s, none of them in the keyring", strings.Join(issuers, ", "))
	}
	return nil, fmt.Errorf("no valid signature from a trusted key: %s", strings.Join(reasons, "; "))
}

// signatureIssuers lists who claims to have made each signature, for
// messages; it also refuses a signature block holding anything else.
func signatureIssuers(sigs []byte) ([]string, error) {
	var issuers []string
	pr := packet.NewReader(bytes.NewReader(sigs))
	for {
		p, err := pr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("signature block: %w", err)
		}
		sig, ok := p.(*packet.Signature)
		if !ok {
			return nil, fmt.Errorf("signature block holds a %T packet", p)
		}
		switch {
		case sig.IssuerFingerprint != nil:
			issuers = append(issuers, fmt.Sprintf("%X", sig.IssuerFingerprint))
		case sig.IssuerKeyId != nil:
			issuers = append(issuers, fmt.Sprintf("%016X", *sig.IssuerKeyId))
		default:
			issuers = append(issuers, "an unnamed key")
		}
	}
	if len(issuers) == 0 {
		return nil, errors.New("signature block holds no signature")
	}
	return issuers, nil
}

func keyName(e *openpgp.Entity) string {
	s := fmt.Sprintf("key %X", e.PrimaryKey.Fingerprint)
	if id := e.PrimaryIdentity(); id != nil {
		s += fmt.Sprintf(" (%s)", id.Name)
	}
	return s
}
