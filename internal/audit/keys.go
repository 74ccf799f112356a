package audit

// KeyRotated: the operator replaced the server's sealing key (secret.key,
// `kaigi admin rotate-key`) and re-sealed what the database keeps sealed
// under the new one (details: the old and new keys' fingerprints, never
// the keys, and how many values were re-sealed).
const KeyRotated Action = "server.key_rotated"

// CertificateChanged: the server began serving a TLS certificate other
// than the one it served before, or than the last one recorded when it
// starts (details: the old and new certificates' SHA-256 fingerprints,
// the new one's expiry, subject and names, and what noticed it).
const CertificateChanged Action = "server.certificate_changed"
