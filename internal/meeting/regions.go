package meeting

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Regions where a meeting may be held (problem P5: media, keys and
// signalling must stay in the regions the customer chose). Every server
// node carries a region label (configuration `region`); the organisation
// may name the regions every meeting is held in, and a meeting may name
// its own, which can only narrow the organisation's. A meeting is held
// only on a node whose label is in both sets (where each is named); a
// node outside them refuses everyone with ErrRegionNotAllowed, so nothing
// of the meeting passes through it.

// MaxRegions bounds a list of regions.
const MaxRegions = 16

// regionLabel is what a region label looks like: lower-case letters,
// digits and hyphens, 1 to 32 characters, starting with a letter or digit
// (e.g. eu-central, us-east-2).
var regionLabel = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,31}$`)

// ValidRegion reports whether s is a well-formed region label.
func ValidRegion(s string) bool { return regionLabel.MatchString(s) }

// Regions is a set of region labels, sorted, without repeats. A nil or
// empty set names no region: anywhere.
type Regions []string

// NormaliseRegions trims, lower-cases, sorts and de-duplicates labels, and
// checks each; it names the first bad one.
func NormaliseRegions(in []string) (Regions, error) {
	if len(in) > MaxRegions {
		return nil, fmt.Errorf("%w: regions: at most %d", ErrBadSettings, MaxRegions)
	}
	out := make(Regions, 0, len(in))
	for _, r := range in {
		r = strings.ToLower(strings.TrimSpace(r))
		if !ValidRegion(r) {
			return nil, fmt.Errorf("%w: regions: %q is not a region label (lower-case letters, digits and hyphens, like eu-central)", ErrBadSettings, truncate(r, 40))
		}
		out = append(out, r)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// Validate checks every label as given (lower-case, no spaces) and the
// count; Normalised sorts and de-duplicates.
func (r *Regions) Validate() error {
	if r == nil {
		return nil
	}
	if len(*r) > MaxRegions {
		return fmt.Errorf("%w: regions: at most %d", ErrBadSettings, MaxRegions)
	}
	for _, l := range *r {
		if !ValidRegion(l) {
			return fmt.Errorf("%w: regions: %q is not a region label (lower-case letters, digits and hyphens, like eu-central)", ErrBadSettings, truncate(l, 40))
		}
	}
	return nil
}

// Normalised returns a sorted copy without repeats; nil or empty sets
// become nil (no region named).
func (r *Regions) Normalised() *Regions {
	if r == nil || len(*r) == 0 {
		return nil
	}
	n := slices.Clone(*r)
	slices.Sort(n)
	n = slices.Compact(n)
	return &n
}

// AllowedRegions is where a meeting may be held: the organisation's set
// narrowed by the meeting's (each only where named). It reports named
// false when neither names any region (anywhere).
func AllowedRegions(org, own []string) (allowed Regions, named bool) {
	switch {
	case len(org) == 0 && len(own) == 0:
		return nil, false
	case len(org) == 0:
		return slices.Clone(Regions(own)), true
	case len(own) == 0:
		return slices.Clone(Regions(org)), true
	}
	for _, r := range own {
		if slices.Contains(org, r) {
			allowed = append(allowed, r)
		}
	}
	return allowed, true
}

// RegionRefusal is the sentence for someone reaching a node in region
// node ("" when the node has none) for a meeting held only in allowed,
// or "" if the node may hold it.
func RegionRefusal(node string, allowed Regions, named bool) string {
	if !named || (node != "" && slices.Contains(allowed, node)) {
		return ""
	}
	where := "in no region at all (its own regions and the organisation's have none in common)"
	if len(allowed) > 0 {
		where = "only in " + strings.Join(allowed, ", ")
	}
	here := "a server with no region"
	if node != "" {
		here = "a server in " + node
	}
	return fmt.Sprintf("This meeting may be held %s, and this is %s, so it cannot be held here.", where, here)
}

// RegionVerdict is the region rule for a meeting whose own regions are own
// (nil: none named), under the organisation's org, on a node in region
// node: where it may be held (named false: anywhere), and the sentence
// refusing it here, or "".
func RegionVerdict(node string, org []string, own *Regions) (refusal string, allowed Regions, named bool) {
	var o []string
	if own != nil {
		o = *own
	}
	allowed, named = AllowedRegions(org, o)
	return RegionRefusal(node, allowed, named), allowed, named
}
