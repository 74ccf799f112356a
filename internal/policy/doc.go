// Package policy holds the rules that decide whether a request may proceed
// at all, before any meeting or account logic: rate limits against brute
// force and enumeration today; country and region rules and minimum client
// versions as those features arrive.
package policy
