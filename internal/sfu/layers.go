package sfu

import (
	"sync"
	"time"

	"github.com/pion/rtcp"
)

// Choosing a simulcast layer per subscriber.
//
// A subscriber gets the smallest live layer that covers the size it draws
// the video at (coversSize), capped by a ceiling that follows its path:
//
//   - A bandwidth signal moves the ceiling below the layer it gets, at once:
//     heavy loss (NACKs for over a tenth of the packets its layer carried
//     in the last two seconds, or a receiver report saying so) one layer
//     down; a REMB estimate that fell, to below 3/4 of what the subscriber
//     is sent, and stays there for a period, down to the layer that fits
//     its share of the estimate.
//   - The ceiling rises one layer at a time, only after upDelay without any
//     bandwidth signal, and not before a back-off after the last step down
//     (minBackoff, doubled each time the path fails again within
//     maxBackoff, up to maxBackoff).
//
// A REMB is never a reason not to go up: a receiver's estimate is bounded
// by what it receives (libwebrtc caps it at 1.5 times the incoming rate
// plus 10 kbit/s), so the estimate of a subscriber sent 500 kbit/s never
// reaches a 1.7 Mbit/s layer, and one that is only growing after a step up
// is below the new layer for seconds. Only a falling estimate says that the
// path is short. A smaller tile or a layer that stopped moves the
// subscriber down at once; a larger tile moves it up at once, within the
// ceiling. The DownTrack switches when the target layer's next key frame
// arrives; one is requested (throttled per layer). A hidden tile (0×0)
// gets nothing at all (DownTrack.forward), and no key frame is asked for it
// until it shows again.
const (
	chooseInterval = 500 * time.Millisecond
	// layerTimeout: a layer that sent no media for this long is not
	// chosen (a browser stops encoding its upper layers when its uplink is
	// short, and may go on sending padding-only packets on them: see
	// layer.lastPacket).
	layerTimeout = 2 * time.Second
	// A layer covers a drawn size when each of its sides is at least
	// coverNum/coverDen of the size's: a picture is shown at most 4/3
	// times larger than it was sent.
	coverNum, coverDen = 3, 4
	// lossyFraction is the fraction lost (of 256: in a receiver report, or
	// asked for again in NACKs over lossWindow periods) above which a
	// subscriber is moved one layer down.
	lossyFraction = 26 // about 10 %
	lossWindow    = 4  // periods: 2 s
	// upDelay is how long a path must go without a bandwidth signal before
	// the ceiling rises one layer.
	upDelay = 3 * time.Second
	// After a bandwidth step down the ceiling stays for a back-off, which
	// doubles while the path keeps failing.
	minBackoff = 8 * time.Second
	maxBackoff = 64 * time.Second
)

// chooser is a DownTrack's layer-choice state, guarded by its mu: the layer
// chooser's ticks and the subscriber's video_size both retarget.
type chooser struct {
	mu sync.Mutex
	// ceiling is the highest layer the path is trusted with.
	ceiling int
	// calmFrom is when the last bandwidth signal was seen (or the ceiling
	// last rose); upAfter, the end of the back-off.
	calmFrom, upAfter int64
	backoff           time.Duration
	lastDown          int64 // the last step down for bandwidth, 0 if none
	suspect           bool  // the estimate fell below what the subscriber is sent
	// NACKed and forwarded packets over the last lossWindow periods.
	asked, carried [lossWindow]uint64
	slot           int
	lastNacked     uint64
}

// bestLayer returns the highest layer the publisher sends, 0 if none yet.
func (u *UpTrack) bestLayer() int {
	for i := maxLayers - 1; i > 0; i-- {
		if u.layers[i].Load() != nil {
			return i
		}
	}
	return 0
}

// chooseLayers runs while a simulcast track is published.
func (u *UpTrack) chooseLayers() {
	t := time.NewTicker(chooseInterval)
	defer t.Stop()
	last := time.Now()
	for {
		select {
		case <-u.done:
			return
		case now := <-t.C:
			u.measure(now.Sub(last).Seconds())
			last = now
			for _, d := range *u.downs.Load() {
				d.tick(now.UnixNano())
			}
		}
	}
}

// measure updates each layer's bitrate, smoothed over about 2 s (a key
// frame or an encoder's swing in one period moves it by a quarter), and
// its packet count in the last period. Called by the layer chooser only.
func (u *UpTrack) measure(elapsed float64) {
	if elapsed <= 0 {
		return
	}
	for i := range u.layers {
		l := u.layers[i].Load()
		if l == nil {
			continue
		}
		b := l.bytes.Load()
		rate := uint64(float64(b-l.lastBytes) * 8 / elapsed)
		l.lastBytes = b
		if l.measured {
			rate = (3*l.bitrate.Load() + rate) / 4
		}
		l.bitrate.Store(rate)
		l.measured = true
		n := l.packets.Load()
		l.period, l.lastPackets = n-l.lastPackets, n
	}
}

// tick reads the subscriber's bandwidth signals of the last period and
// retargets. now is unix nanoseconds.
func (d *DownTrack) tick(now int64) {
	if !d.up.simulcast {
		return
	}
	c := &d.choice
	c.mu.Lock()
	defer c.mu.Unlock()
	live, lowest, highest := d.up.liveLayers(now)
	if lowest < 0 {
		return
	}
	cur := int(d.current.Load())
	if cur < 0 {
		cur = int(d.target.Load())
	}

	lossy := d.noteNACKs(cur) || d.lossReported.Swap(false)
	// The estimate says the path is short when it fell below 3/4 of what
	// the subscriber is sent and is still there a period later: a key
	// frame's burst can make it dip once.
	fell, est := d.estimateFell.Swap(false), d.estimate.Load()
	short := est > 0 && est*4 < d.peer.sendRate()*3
	congested := short && c.suspect
	c.suspect = short && (c.suspect || fell)
	if lossy || congested {
		c.calmFrom = now
		// One step down per burst: a loss still in the window, or an
		// estimate about the layer just left, does not move it twice.
		if cur > lowest && (c.lastDown == 0 || now-c.lastDown >= int64(lossWindow*chooseInterval)) {
			to := below(live, cur, lowest)
			if congested {
				to = d.fitShare(live, cur, lowest, est)
			}
			if c.lastDown != 0 && now-c.lastDown < int64(maxBackoff) {
				c.backoff = min(2*c.backoff, maxBackoff)
			} else {
				c.backoff = minBackoff
			}
			c.lastDown = now
			c.upAfter = now + int64(c.backoff)
			c.ceiling = min(c.ceiling, to)
			c.asked, c.carried = [lossWindow]uint64{}, [lossWindow]uint64{}
			d.peer.log.Debug("simulcast bandwidth", "publisher", d.up.owner.participant, "source", d.up.source,
				"lossy", lossy, "estimate", est, "ceiling", c.ceiling, "backoff", c.backoff)
		}
	} else if c.ceiling < highest && d.sizeLayer(live, lowest, highest) > c.ceiling &&
		now-c.calmFrom >= int64(upDelay) && now >= c.upAfter {
		c.ceiling = above(live, c.ceiling, highest)
		c.calmFrom = now
	}
	d.retargetLocked(live, lowest, highest, now)
}

// retarget applies a change of tile or of live layers at once.
func (d *DownTrack) retarget(now int64) {
	if !d.up.simulcast {
		return
	}
	d.choice.mu.Lock()
	defer d.choice.mu.Unlock()
	live, lowest, highest := d.up.liveLayers(now)
	if lowest >= 0 {
		d.retargetLocked(live, lowest, highest, now)
	}
}

// retargetLocked sets the layer the subscriber should get and asks for the
// key frame the switch waits for. Called with d.choice.mu held.
func (d *DownTrack) retargetLocked(live *[maxLayers]*layer, lowest, highest int, now int64) {
	t := min(d.sizeLayer(live, lowest, highest), d.choice.ceiling)
	for t > lowest && live[t] == nil {
		t--
	}
	if live[t] == nil {
		t = lowest
	}
	if old := d.target.Swap(int32(t)); old != int32(t) {
		d.targetChanges.Add(1)
		d.peer.log.Debug("simulcast target", "publisher", d.up.owner.participant, "source", d.up.source,
			"layer", t, "width", d.maxWidth.Load(), "height", d.maxHeight.Load())
	}
	if int32(t) != d.current.Load() && !d.hidden.Load() {
		live[t].requestKeyframe()
	}
}

// liveLayers returns the layers that sent media (not only padding) in the
// last layerTimeout, and the lowest and highest of them (-1 if none).
func (u *UpTrack) liveLayers(now int64) (live *[maxLayers]*layer, lowest, highest int) {
	live = &[maxLayers]*layer{}
	lowest, highest = -1, -1
	for i := range u.layers {
		l := u.layers[i].Load()
		if l == nil || now-l.lastPacket.Load() > int64(layerTimeout) {
			continue
		}
		live[i] = l
		if lowest < 0 {
			lowest = i
		}
		highest = i
	}
	return live, lowest, highest
}

// sizeLayer is the smallest live layer that covers the size the subscriber
// draws the video at (the highest if none does, or if no size is known;
// the lowest if the tile is hidden, which is forwarded nothing).
func (d *DownTrack) sizeLayer(live *[maxLayers]*layer, lowest, highest int) int {
	if d.hidden.Load() {
		return lowest
	}
	w, h := int(d.maxWidth.Load()), int(d.maxHeight.Load())
	if w <= 0 || h <= 0 {
		return highest
	}
	for i := lowest; i < highest; i++ {
		if l := live[i]; l != nil && coversSize(int(l.width.Load()), int(l.height.Load()), w, h) {
			return i
		}
	}
	return highest
}

// coversSize reports whether a layer of lw×lh pixels is enough for a video
// drawn at w×h device pixels: both sides reach coverNum/coverDen of the
// drawn size's. The drawn size is the whole picture's, scaled as the tile
// scales it; for a tile that fills its box and crops the picture (CSS
// object-fit: cover) the box's size gives the same answer (the box is as
// wide or as high as the scaled picture, and within it on the other side),
// and for one that fits the picture inside its box (contain), the box's
// size asks for at most one layer more than needed.
func coversSize(lw, lh, w, h int) bool {
	return lw > 0 && lh > 0 && lw*coverDen >= w*coverNum && lh*coverDen >= h*coverNum
}

// below returns the next live layer under i, or lowest.
func below(live *[maxLayers]*layer, i, lowest int) int {
	for j := i - 1; j > lowest; j-- {
		if live[j] != nil {
			return j
		}
	}
	return lowest
}

// above returns the next live layer over i, or highest.
func above(live *[maxLayers]*layer, i, highest int) int {
	for j := i + 1; j < highest; j++ {
		if live[j] != nil {
			return j
		}
	}
	return highest
}

// fitShare returns the highest live layer under cur whose bitrate fits this
// track's share of the subscriber's estimate (in proportion to what each of
// its tracks is sent), or lowest.
func (d *DownTrack) fitShare(live *[maxLayers]*layer, cur, lowest int, est uint64) int {
	share := est
	if total, mine := d.peer.sendRate(), live[cur]; total > 0 && mine != nil {
		share = uint64(float64(est) * float64(mine.bitrate.Load()) / float64(total))
	}
	for j := cur - 1; j > lowest; j-- {
		if l := live[j]; l != nil && l.bitrate.Load() <= share {
			return j
		}
	}
	return lowest
}

// sendRate is the bitrate of the simulcast layers the peer gets, as
// measured at their publishers.
func (p *Peer) sendRate() uint64 {
	list := p.downList.Load()
	if list == nil {
		return 0
	}
	var total uint64
	for _, d := range *list {
		if cur := d.current.Load(); cur >= 0 && d.up.simulcast {
			if l := d.up.layers[cur].Load(); l != nil {
				total += l.bitrate.Load()
			}
		}
	}
	return total
}

// noteNACKs reports heavy loss: the subscriber asked again, over the last
// lossWindow periods, for more than lossyFraction of the packets its layer
// carried. Receiver reports count retransmitted packets as received, so on
// a path that loses much but repairs it they alone would not show it.
// Called with d.choice.mu held.
func (d *DownTrack) noteNACKs(cur int) bool {
	c := &d.choice
	n := d.nacked.Load()
	asked := n - c.lastNacked
	c.lastNacked = n
	var carried uint64
	if cur >= 0 {
		if l := d.up.layers[cur].Load(); l != nil {
			carried = l.period
		}
	}
	c.slot = (c.slot + 1) % lossWindow
	c.asked[c.slot], c.carried[c.slot] = asked, carried
	var a, p uint64
	for i := range c.asked {
		a += c.asked[i]
		p += c.carried[i]
	}
	return p > 0 && a*256 > p*lossyFraction
}

// noteReports records heavy loss reported by the subscriber for this
// track, for the next tick.
func (d *DownTrack) noteReports(reports []rtcp.ReceptionReport) {
	b := d.binding.Load()
	if b == nil {
		return
	}
	for _, r := range reports {
		if r.SSRC == b.ssrc && r.FractionLost > lossyFraction {
			d.lossReported.Store(true)
		}
	}
}

// noteEstimate records a REMB, and whether it fell (by over 5 %) from the
// last: a libwebrtc receiver lowers its estimate only on congestion.
func (d *DownTrack) noteEstimate(bitrate uint64) {
	if prev := d.estimate.Swap(bitrate); prev > 0 && bitrate*20 < prev*19 {
		d.estimateFell.Store(true)
	}
}

// SetVideoSize records the size, in device pixels, at which the subscriber
// shows the publisher's video source; 0×0 means it shows no tile for it,
// and stops the track for the subscriber until a non-zero size resumes it
// at a key frame (requested, throttled). It reports false if the peer does
// not receive that track.
func (p *Peer) SetVideoSize(publisher string, source Source, width, height int) bool {
	p.mu.Lock()
	var d *DownTrack
	for up, x := range p.downs {
		if up.owner.participant == publisher && up.source == source {
			d = x
			break
		}
	}
	p.mu.Unlock()
	if d == nil {
		return false
	}
	hidden := width == 0 || height == 0
	p.log.Debug("video size", "publisher", publisher, "source", source, "width", width, "height", height)
	d.maxWidth.Store(int32(width))
	d.maxHeight.Store(int32(height))
	wasHidden := d.hidden.Swap(hidden)
	d.retarget(time.Now().UnixNano())
	// A simulcast track's retarget asks for the target's key frame; a
	// single-layer video that was paused asks here.
	if wasHidden && !hidden && !d.up.simulcast {
		d.requestKeyframe()
	}
	return true
}
