// Package httpapi is Kaigi's HTTP surface: the embedded web client, the
// JSON API, the signalling WebSocket's route, health and metrics, and the
// security headers every response carries (a strict Content-Security-Policy
// with no third-party origins and no inline script).
package httpapi
