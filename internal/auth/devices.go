package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/kaigi-meet/kaigi/internal/policy"
)

// Known devices (OWASP's "device cookies"). An account's wrong two-factor
// codes are limited account-wide (Limits.CodePerUser), which is what keeps
// someone who has the password from guessing codes from many addresses;
// but that budget, spent by them, would refuse the owner's right code too.
// So every fully successful sign-in (the password, and the second factor
// where the account has one) gives the browser a known-device token for
// that account, and a code sent with one is counted against that
// device's own budget (the same numbers) instead: never against, nor
// refused by, the account's. Without one, the account's budget applies
// as before, so guessing stays as slow as it was for anyone who has not
// signed in fully from that browser before.
//
// A token is a random device ID, when it was issued, and an HMAC (under a
// key derived from the server's secret key, see Sealer) over those, the
// account's ID and its password hash. Nothing is stored: a token is
// known only for the account it was given for, for DeviceLifetime from
// its issue (each full sign-in renews it), and until the account's
// password changes. It is never a session and never skips a step: it
// only chooses whose budget a wrong code is counted against.

const (
	// DeviceLifetime is how long a known-device token is honoured after
	// the full sign-in that issued it.
	DeviceLifetime = 365 * 24 * time.Hour
	// MaxDeviceTokens is how many tokens one browser keeps (one for each
	// account signed in from it, the latest first), and how many of a
	// request's are looked at.
	MaxDeviceTokens = 5

	deviceVersion  = 1
	deviceIDLen    = 16
	deviceMACLen   = 16
	deviceRawLen   = 1 + deviceIDLen + 8 + deviceMACLen
	deviceTokenLen = (deviceRawLen*8 + 5) / 6 // base64url, no padding
	// maxDeviceCookie is the longest cookie value a browser is given; a
	// longer value is not a cookie this server set, and is ignored whole.
	maxDeviceCookie = MaxDeviceTokens*(deviceTokenLen+1) - 1
	// deviceSkew is how far in the future an issue time may be (the
	// server's clock stepping back).
	deviceSkew = 5 * time.Minute
)

var deviceEncoding = base64.RawURLEncoding.Strict()

// deviceToken is one well-formed token from a request.
type deviceToken struct {
	text   string
	id     []byte
	issued time.Time
	mac    []byte
}

// parseDeviceTokens picks the well-formed tokens out of a request's
// known-device cookie values ("token.token..."). Whatever a request
// carries, at most MaxDeviceTokens values and MaxDeviceTokens tokens in
// all are looked at, in order, and a value longer than the longest this
// server sets is skipped unread: a huge, repeated or malformed cookie
// costs a few comparisons and counts as no known device.
func parseDeviceTokens(values []string) []deviceToken {
	var out []deviceToken
	looked := 0
	for i, v := range values {
		if i >= MaxDeviceTokens || looked >= MaxDeviceTokens {
			break
		}
		if len(v) > maxDeviceCookie {
			continue
		}
		for v != "" && looked < MaxDeviceTokens {
			var piece string
			piece, v, _ = strings.Cut(v, ".")
			looked++
			if t, ok := decodeDeviceToken(piece); ok {
				out = append(out, t)
			}
		}
	}
	return out
}

func decodeDeviceToken(s string) (deviceToken, bool) {
	if len(s) != deviceTokenLen {
		return deviceToken{}, false
	}
	b, err := deviceEncoding.DecodeString(s)
	if err != nil || len(b) != deviceRawLen || b[0] != deviceVersion {
		return deviceToken{}, false
	}
	at := b[1+deviceIDLen:]
	return deviceToken{
		text:   s,
		id:     b[1 : 1+deviceIDLen],
		issued: time.Unix(int64(binary.BigEndian.Uint64(at)), 0),
		mac:    at[8:],
	}, true
}

// deviceMAC is the tag of a token of device id issued at for account u.
// The password hash in it makes a password change forget every device;
// whether the account had two-factor on when the token was issued is in
// it too, so a browser that signed in with the password alone, while the
// account had no second factor, is not known once it has one (else
// whoever had the password then could keep a budget of wrong codes per
// browser for later).
func (s *Service) deviceMAC(u User, id []byte, issued int64) []byte {
	m := hmac.New(sha256.New, s.sealer.deviceKey)
	pw := sha256.Sum256([]byte(u.PasswordHash))
	m.Write([]byte("kaigi known device\x00" + u.ID + "\x00"))
	m.Write(id)
	binary.Write(m, binary.BigEndian, issued)
	m.Write(pw[:])
	if u.TwoFactor() {
		m.Write([]byte{1})
	} else {
		m.Write([]byte{0})
	}
	return m.Sum(nil)[:deviceMACLen]
}

// live reports whether a token's issue time is within its lifetime.
func (s *Service) live(t deviceToken) bool {
	now := s.now()
	return now.Sub(t.issued) < DeviceLifetime && !t.issued.After(now.Add(deviceSkew))
}

// knownDevice returns the device ID of the first of tokens that is a
// live known-device token of u (as just read from the store).
func (s *Service) knownDevice(u User, tokens []deviceToken) (string, bool) {
	if s.sealer == nil {
		return "", false
	}
	for _, t := range tokens {
		if s.live(t) && hmac.Equal(t.mac, s.deviceMAC(u, t.id, t.issued.Unix())) {
			return base64.RawURLEncoding.EncodeToString(t.id), true
		}
	}
	return "", false
}

// deviceCookie is the known-device cookie value for a browser that has
// just signed in fully to u, having presented tokens: a fresh token of u
// first (keeping the device's ID when the browser was known for u
// already), then the browser's live tokens for other accounts, up to
// MaxDeviceTokens in all. Empty when the service cannot sign tokens.
func (s *Service) deviceCookie(u User, tokens []deviceToken) string {
	if s.sealer == nil {
		return ""
	}
	id := make([]byte, deviceIDLen)
	keep := make([]string, 0, MaxDeviceTokens)
	own := false
	for _, t := range tokens {
		switch {
		case !s.live(t):
		case hmac.Equal(t.mac, s.deviceMAC(u, t.id, t.issued.Unix())):
			if !own {
				copy(id, t.id)
				own = true
			}
		case len(keep) < MaxDeviceTokens-1 && !containsString(keep, t.text):
			// Another account's, or a forgery the browser was given by
			// someone: the server cannot tell which, nor needs to.
			keep = append(keep, t.text)
		}
	}
	if !own {
		rand.Read(id)
	}
	issued := s.now().Unix()
	raw := make([]byte, 0, deviceRawLen)
	raw = append(raw, deviceVersion)
	raw = append(raw, id...)
	raw = binary.BigEndian.AppendUint64(raw, uint64(issued))
	raw = append(raw, s.deviceMAC(u, id, issued)...)
	return strings.Join(append([]string{deviceEncoding.EncodeToString(raw)}, keep...), ".")
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// codeBudget is the budget a code attempt is counted against: the
// account's (shared by every browser it does not know) or one known
// device's.
type codeBudget struct {
	lim *policy.Limiter
	key string
}

func (s *Service) accountBudget(u User) codeBudget {
	return codeBudget{s.codeUser, u.ID} // as ConfirmTOTP counts
}

// codeBudgetFor is the budget for a code sent for u with tokens, and
// whether it is a known device's.
func (s *Service) codeBudgetFor(u User, tokens []deviceToken) (codeBudget, bool) {
	if id, ok := s.knownDevice(u, tokens); ok {
		return codeBudget{s.codeDevice, u.ID + "/" + id}, true
	}
	return s.accountBudget(u), false
}

// checkCode accepts a current TOTP code not used before, or an unused
// recovery code. A wrong code is counted against budget b; when b is
// spent, the code is refused unchecked. The check and the count happen
// under b's lock, so codes sent at once cannot all pass the budget before
// any is counted.
func (s *Service) checkCode(ctx context.Context, u *User, code string, b codeBudget) error {
	defer s.codeLocks.lock(b.key)()
	if !b.lim.Peek(b.key) {
		return ErrRateLimited
	}
	code = strings.TrimSpace(code)
	if digits := strings.ReplaceAll(code, " ", ""); isDigits(digits) && len(digits) == 6 && u.TwoFactor() {
		secret, err := s.sealer.Open(u.TOTPSecret, "totp:"+u.ID)
		if err != nil {
			return fmt.Errorf("unseal totp of %s: %w", u.ID, err)
		}
		step, ok := totpStep(string(secret), digits, s.now())
		if ok {
			// One statement checks and records the step, so simultaneous
			// requests with one code cannot both pass.
			if ok, err = s.store.UseTOTPStep(ctx, u.ID, step); err != nil {
				return err
			}
		}
		if !ok {
			b.lim.Allow(b.key)
			return ErrBadCode
		}
		u.TOTPLastStep = step
		return nil
	}
	ok, err := s.store.UseRecoveryCode(ctx, u.ID, recoveryHash(code))
	if err != nil {
		return err
	}
	if !ok {
		b.lim.Allow(b.key)
		return ErrBadCode
	}
	s.log.Info("recovery code used", "user", u.ID)
	return nil
}

// keyedLocks is a mutex per key, kept only while someone holds or waits
// for it.
type keyedLocks struct {
	mu sync.Mutex
	m  map[string]*keyedLock
}

type keyedLock struct {
	sync.Mutex
	users int
}

// lock locks key and returns its unlock.
func (k *keyedLocks) lock(key string) func() {
	k.mu.Lock()
	if k.m == nil {
		k.m = make(map[string]*keyedLock)
	}
	l := k.m[key]
	if l == nil {
		l = &keyedLock{}
		k.m[key] = l
	}
	l.users++
	k.mu.Unlock()
	l.Lock()
	return func() {
		l.Unlock()
		k.mu.Lock()
		if l.users--; l.users == 0 {
			delete(k.m, key)
		}
		k.mu.Unlock()
	}
}
