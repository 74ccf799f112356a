package client

import (
	"net/url"

	"github.com/kaigi-meet/kaigi/internal/wire"
)

// redirectOrigin keeps a refusal's redirect only where one belongs (a
// region refusal) and only as an http(s) origin: scheme and host, nothing
// else. Anything else is dropped, never followed.
func redirectOrigin(code, raw string) string {
	if code != wire.CodeRegionNotAllowed || raw == "" || len(raw) > 2048 {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" || u.User != nil || u.Opaque != "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}
