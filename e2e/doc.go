// Package e2e holds Kaigi's real-browser tests: a whole server on
// 127.0.0.1 with the real web client, and headless Debian Chromium with fake
// camera, microphone and screen, driven through the UI with chromedp.
//
// One Chromium process serves every test in the package; each participant
// is a tab in its own browser context (separate storage, like separate
// people). The tests need the built client (make web) and chromium on PATH;
// the test command provides both. Set KAIGI_E2E_ARTIFACTS to a directory to
// keep screenshots (they go to a temporary directory otherwise, printed in
// the test log).
package e2e
