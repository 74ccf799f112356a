// Package auth is Kaigi's accounts: sign-up and sign-in with argon2id
// password hashes, TOTP two-factor authentication with one-time recovery
// codes, sessions, and the organisation's account policy (who may sign up,
// whether two-factor is required).
//
// Secrets never leave this package in the clear except to the person they
// belong to: passwords are hashed, session tokens and recovery codes are
// stored as SHA-256 hashes, TOTP secrets are sealed with the server's key.
// Nothing here logs a secret.
package auth
