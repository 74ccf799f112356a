// Package passkeytest is a software WebAuthn authenticator for tests: it
// answers the options a relying party hands a browser
// (navigator.credentials.create and .get, as JSON) the way a browser and
// a platform authenticator together would, with ES256 keys, attestation
// "none" and discoverable credentials, and lets a test change what a
// browser would never send (another origin, another RP ID, no user
// verification, a sign count that goes back). go-webauthn has no test
// authenticator; this one is small enough to read.
package passkeytest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
)

// Authenticator holds credentials and answers ceremonies as a browser on
// Origin would.
type Authenticator struct {
	// Origin is the page's origin the client data names
	// ("https://meet.example.org").
	Origin string
	// RPID, if set, is hashed into the authenticator data instead of the
	// options' RP ID (a phishing site's authenticator would).
	RPID string
	// NoUserVerification leaves the UV flag off: the authenticator
	// checked presence only.
	NoUserVerification bool
}

// Credential is one passkey the authenticator holds.
type Credential struct {
	ID         []byte
	RPID       string
	UserHandle []byte
	Key        *ecdsa.PrivateKey
	// Count is the sign count the next assertion carries minus one;
	// tests may set it back.
	Count uint32
}

// options is what the relying party hands the browser (the parts used).
type options struct {
	PublicKey struct {
		Challenge string `json:"challenge"`
		RP        struct {
			ID string `json:"id"`
		} `json:"rp"`
		RPID string `json:"rpId"`
		User struct {
			ID string `json:"id"`
		} `json:"user"`
		AllowCredentials []struct {
			ID string `json:"id"`
		} `json:"allowCredentials"`
	} `json:"publicKey"`
}

var b64 = base64.RawURLEncoding

// Create answers registration options (the JSON of a
// CredentialCreation, {"publicKey": ...}) with a new credential, and
// returns the PublicKeyCredential as JSON.
func (a *Authenticator) Create(opts []byte) ([]byte, *Credential, error) {
	var o options
	if err := json.Unmarshal(opts, &o); err != nil {
		return nil, nil, err
	}
	user, err := b64.DecodeString(o.PublicKey.User.ID)
	if err != nil {
		return nil, nil, fmt.Errorf("user.id: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	id := make([]byte, 32)
	rand.Read(id)
	c := &Credential{ID: id, RPID: o.PublicKey.RP.ID, UserHandle: user, Key: key}
	cose, err := webauthncbor.Marshal(map[int]any{1: 2, 3: -7, -1: 1, -2: pad32(key.X.Bytes()), -3: pad32(key.Y.Bytes())})
	if err != nil {
		return nil, nil, err
	}
	auth := a.authData(c, 0x40) // AT: attested credential data follows
	auth = append(auth, make([]byte, 16)...)
	auth = binary.BigEndian.AppendUint16(auth, uint16(len(id)))
	auth = append(auth, id...)
	auth = append(auth, cose...)
	att, err := webauthncbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": auth})
	if err != nil {
		return nil, nil, err
	}
	out, err := json.Marshal(map[string]any{
		"id": b64.EncodeToString(id), "rawId": b64.EncodeToString(id), "type": "public-key",
		"authenticatorAttachment": "platform",
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(a.clientData("webauthn.create", o.PublicKey.Challenge)),
			"attestationObject": b64.EncodeToString(att),
			"transports":        []string{"internal"},
		},
		"clientExtensionResults": map[string]any{},
	})
	return out, c, err
}

// Get answers sign-in options (the JSON of a CredentialAssertion) with
// c, and returns the PublicKeyCredential as JSON. When the options name
// allowed credentials, c must be one of them (as a browser would offer
// no other).
func (a *Authenticator) Get(opts []byte, c *Credential) ([]byte, error) {
	var o options
	if err := json.Unmarshal(opts, &o); err != nil {
		return nil, err
	}
	if len(o.PublicKey.AllowCredentials) > 0 {
		found := false
		for _, d := range o.PublicKey.AllowCredentials {
			found = found || d.ID == b64.EncodeToString(c.ID)
		}
		if !found {
			return nil, errors.New("the credential is not among the allowed ones")
		}
	}
	return a.Sign(o.PublicKey.Challenge, c)
}

// Sign answers the challenge (base64url, as in the options) with c,
// whatever it was asked.
func (a *Authenticator) Sign(challenge string, c *Credential) ([]byte, error) {
	c.Count++
	auth := a.authData(c, 0)
	client := a.clientData("webauthn.get", challenge)
	sum := sha256.Sum256(client)
	digest := sha256.Sum256(append(append([]byte{}, auth...), sum[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, c.Key, digest[:])
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{
		"id": b64.EncodeToString(c.ID), "rawId": b64.EncodeToString(c.ID), "type": "public-key",
		"authenticatorAttachment": "platform",
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(client),
			"authenticatorData": b64.EncodeToString(auth),
			"signature":         b64.EncodeToString(sig),
			"userHandle":        b64.EncodeToString(c.UserHandle),
		},
		"clientExtensionResults": map[string]any{},
	})
}

// Challenge is the challenge of options (base64url).
func Challenge(opts []byte) (string, error) {
	var o options
	err := json.Unmarshal(opts, &o)
	return o.PublicKey.Challenge, err
}

// authData is the authenticator data's fixed part for c: the RP ID's
// hash, the flags (UP, UV unless turned off, and extra) and the count.
func (a *Authenticator) authData(c *Credential, extra byte) []byte {
	rp := c.RPID
	if a.RPID != "" {
		rp = a.RPID
	}
	h := sha256.Sum256([]byte(rp))
	flags := byte(0x01) | extra
	if !a.NoUserVerification {
		flags |= 0x04
	}
	out := append(h[:], flags)
	return binary.BigEndian.AppendUint32(out, c.Count)
}

func (a *Authenticator) clientData(typ, challenge string) []byte {
	b, _ := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": a.Origin, "crossOrigin": false})
	return b
}

func pad32(b []byte) []byte {
	out := make([]byte, 32)
	copy(out[32-len(b):], b)
	return out
}
