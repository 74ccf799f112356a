package httpapi

import "net/http"

// contentSecurityPolicy allows only this origin: no inline script or style,
// no third-party anything, no framing. 'self' in connect-src covers the
// same-origin WebSocket (CSP Level 3). 'wasm-unsafe-eval' lets the page and
// its workers compile WebAssembly, and nothing else: background blur's
// segmentation model runs in a WebAssembly module served from this origin
// (/assets/blur/); JavaScript eval, new Function and inline script stay
// refused.
const contentSecurityPolicy = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; " +
	"img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; worker-src 'self'; " +
	"manifest-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

const permissionsPolicy = "camera=(self), microphone=(self), display-capture=(self), " +
	"speaker-selection=(self), geolocation=(), payment=(), usb=(), serial=(), bluetooth=(), interest-cohort=()"

// securityHeaders sets the headers every response carries.
func securityHeaders(tls bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Permissions-Policy", permissionsPolicy)
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		if tls {
			h.Set("Strict-Transport-Security", "max-age=63072000")
		}
		next.ServeHTTP(w, r)
	})
}
