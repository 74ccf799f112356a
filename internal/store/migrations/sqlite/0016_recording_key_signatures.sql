-- +goose Up
-- recording_keys.signature: the account's recording public key signed by
-- the device key of the browser that made it (the key its MLS leaf
-- credentials are certified with), as that browser sent it: version,
-- device public key, Ed25519 signature over the recording key and the
-- account (web/src/recording/key-signature.ts). The server stores and
-- returns it and cannot make one; a recorder checks it against the
-- device keys of the meeting's MLS group. NULL: the key was set unsigned
-- (by an older page); setting a key replaces its signature.
ALTER TABLE recording_keys ADD COLUMN signature BLOB;
