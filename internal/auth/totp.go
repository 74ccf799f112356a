package auth

import (
	"bytes"
	"encoding/base32"
	"encoding/base64"
	"fmt"
	"image/png"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"
)

// TOTP follows RFC 6238 with the parameters every authenticator app
// supports: SHA-1, six digits, 30-second steps, one step of clock skew
// either way.
const (
	totpPeriod = 30
	totpSkew   = 1
	issuer     = "Kaigi"
)

// Enrollment is what a person needs to add Kaigi to an authenticator app.
type Enrollment struct {
	// Secret is the base32 secret, for typing in by hand.
	Secret string
	// URL is the otpauth:// URL the QR code encodes.
	URL string
	// QR is a PNG of the QR code as a data: URL, rendered here so that no
	// third-party service ever sees the secret.
	QR string
}

func newTOTPKey(account string) (*otp.Key, Enrollment, error) {
	key, err := totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: account, Period: totpPeriod, SecretSize: 20})
	if err != nil {
		return nil, Enrollment{}, err
	}
	img, err := key.Image(256, 256)
	if err != nil {
		return nil, Enrollment{}, err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, Enrollment{}, err
	}
	return key, Enrollment{
		Secret: key.Secret(),
		URL:    key.URL(),
		QR:     "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes()),
	}, nil
}

// totpStep finds the time step a code is valid for, within the allowed
// skew, or reports false. The step lets callers refuse a code used before.
func totpStep(secret, code string, now time.Time) (int64, bool) {
	if len(code) != 6 {
		return 0, false
	}
	if _, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(secret); err != nil {
		return 0, false
	}
	cur := now.Unix() / totpPeriod
	for d := int64(-totpSkew); d <= totpSkew; d++ {
		step := cur + d
		ok, err := hotp.ValidateCustom(code, uint64(step), secret, hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err == nil && ok {
			return step, true
		}
	}
	return 0, false
}

// TOTPCode computes the code for a secret at a time: for tests and tools.
func TOTPCode(secret string, at time.Time) (string, error) {
	code, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return "", fmt.Errorf("totp code: %w", err)
	}
	return code, nil
}
