package auth

import (
	"net/netip"
	"time"

	"github.com/kaigi-meet/kaigi/internal/policy"
)

// Limits are the limits on guessing. None of them ever refuses the right
// password (with a valid second factor where the account has one) because
// of what someone else did: only the address a request comes from can be
// refused before its password is checked, and an account's failures slow
// the addresses that fail against it, never the account.
type Limits struct {
	// SignInPerIP is every sign-in attempt (password or code step) per
	// address: an IPv4 address, or an IPv6 /64 (one home or one server
	// gets a whole /64, so rotating inside it buys nothing).
	SignInPerIP policy.Rate
	// SignInPerEmail is the wrong passwords an account (or an unknown
	// e-mail) takes before each further one holds back the address that
	// sent it.
	SignInPerEmail policy.Rate
	// FailureHold is the hold for the first wrong password beyond
	// SignInPerEmail, doubling with each further one up to FailureHoldMax;
	// the doubling starts again after FailureForget without one.
	FailureHold, FailureHoldMax, FailureForget time.Duration
	// CodePerUser is wrong two-factor codes per account, from browsers
	// the server does not know for it; a browser that signed in fully to
	// the account before (devices.go) has a budget of its own, with the
	// same numbers, so others' wrong codes never refuse its right one.
	CodePerUser policy.Rate
	SignUpPerIP policy.Rate
}

// DefaultLimits stop online guessing while leaving room for typos.
var DefaultLimits = Limits{
	SignInPerIP:    policy.Rate{Every: 6 * time.Second, Burst: 20},
	SignInPerEmail: policy.Rate{Every: time.Minute, Burst: 5},
	FailureHold:    time.Second,
	FailureHoldMax: time.Minute,
	FailureForget:  15 * time.Minute,
	CodePerUser:    policy.Rate{Every: 30 * time.Second, Burst: 5},
	SignUpPerIP:    policy.Rate{Every: time.Minute, Burst: 5},
}

// addressKey is the key an address is limited by: IPv4 addresses one by
// one, IPv6 addresses by their /64. Anything unparseable is its own key.
func addressKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	p, err := a.WithZone("").Prefix(64)
	if err != nil {
		return ip
	}
	return p.String()
}

// admitAddress counts a sign-in attempt against its address, and refuses
// it if the address is over its rate or held back for failing against an
// account over its budget. It is called before anything is checked, so a
// refusal says nothing about the password.
func (s *Service) admitAddress(ip string) error {
	key := addressKey(ip)
	if s.held.Wait(key) > 0 || !s.signInIP.Allow(key) {
		return ErrRateLimited
	}
	return nil
}

// failedPassword counts a wrong password (or unknown e-mail) against the
// account; beyond the account's budget, the address that sent it is held
// back for a delay that grows with each such failure. The answer is
// bad_credentials either way.
func (s *Service) failedPassword(email, ip string) {
	if s.signInEmail.Allow(email) {
		return
	}
	d := s.strikes.Fail(email)
	s.held.Hold(addressKey(ip), d)
	s.log.Info("sign-in failed beyond the account's budget", "remote", ip, "hold", d)
}
