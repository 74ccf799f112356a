// Package e2e holds Kaigi's real-browser tests: a whole server on
// 127.0.0.1 with the real web client, and headless Debian Chromium with fake
// camera, microphone and screen, driven through the UI with chromedp; and,
// for a meeting between two browsers, headless Debian Firefox ESR, driven
// over WebDriver BiDi (firefox_test.go, bidi_test.go).
//
// One Chromium process serves every test in the package; each participant
// is a tab in its own browser context (separate storage, like separate
// people). Firefox is started by the first test that needs it and shared
// the same way, a window in a user context of its own per participant. The
// tests need the built client (make web), chromium and firefox-esr on PATH;
// the test command provides all three (without firefox-esr, outside CI,
// its tests skip). Set KAIGI_E2E_ARTIFACTS to a directory to keep
// screenshots and Firefox's own output (they go to a temporary directory
// otherwise, printed in the test log).
package e2e
