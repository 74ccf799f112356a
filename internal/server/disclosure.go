package server

// What the server tells people about itself so that they can check it:
// its TLS certificate's fingerprint in the log, and the outside servers
// browsers are sent to, on the privacy page.

import (
	"crypto/sha256"
	"crypto/tls"
	"fmt"
	"strings"

	"github.com/kaigi-meet/kaigi/internal/config"
)

// certFingerprint is the SHA-256 of the served (leaf) certificate's DER
// bytes, written as openssl and browsers show it (AB:CD:…), so that an
// organisation can publish it and people compare it with what their
// browser's certificate viewer says (`openssl x509 -noout -fingerprint
// -sha256 -in cert.pem` prints the same).
func certFingerprint(cert tls.Certificate) string {
	if len(cert.Certificate) == 0 {
		return ""
	}
	sum := sha256.Sum256(cert.Certificate[0])
	hexes := make([]string, len(sum))
	for i, b := range sum {
		hexes[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join(hexes, ":")
}

// iceServerURLs are the configured STUN/TURN servers' URLs (not the
// embedded TURN server's).
func iceServerURLs(cfg config.Config) []string {
	var urls []string
	for _, ice := range cfg.WebRTC.ICEServers {
		urls = append(urls, ice.URLs...)
	}
	return urls
}
