package audit

// MeetingMoved: an administrator moved a live meeting off the node
// holding it to another node of the cluster (details: node, where it
// went); its members resumed there.
const MeetingMoved Action = "meeting.moved"
