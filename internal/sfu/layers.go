package sfu

import (
	"time"

	"github.com/pion/rtcp"
)

// Choosing a simulcast layer per subscriber.
//
// Every chooseInterval each simulcast UpTrack measures its layers' bitrates
// and picks, for each subscriber, the smallest layer that fills the tile
// the subscriber renders, lowered while the subscriber's path cannot carry
// it: a REMB estimate below the layer's bitrate, or heavy loss (NACKs for
// over a tenth of its packets, or receiver reports saying so). The
// DownTrack switches when the target layer's next key frame arrives; one
// is requested (throttled per layer).
const (
	chooseInterval = 500 * time.Millisecond
	// layerTimeout: a layer that sent nothing for this long is not chosen
	// (a browser stops sending its upper layers when its uplink is short).
	layerTimeout = 2 * time.Second
	// lossyFraction is the fraction lost (of 256: in a receiver report, or
	// asked for again in NACKs) above which a subscriber is moved one
	// layer down, and lossyHold how long it is kept from moving back up.
	lossyFraction = 26 // about 10 %
	lossyHold     = 10 * time.Second
)

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
			elapsed := now.Sub(last).Seconds()
			last = now
			for i := range u.layers {
				if l := u.layers[i].Load(); l != nil {
					b := l.bytes.Load()
					l.bitrate.Store(uint64(float64(b-l.lastBytes) * 8 / elapsed))
					l.lastBytes = b
					n := l.packets.Load()
					l.period, l.lastPackets = n-l.lastPackets, n
				}
			}
			for _, d := range *u.downs.Load() {
				d.noteNACKs(now)
				d.retarget(now.UnixNano())
			}
		}
	}
}

// retarget sets the layer the subscriber should get and asks for the key
// frame the switch waits for.
func (d *DownTrack) retarget(now int64) {
	if !d.up.simulcast {
		return
	}
	t := d.up.chooseLayer(d, now)
	if t < 0 {
		return
	}
	if old := d.target.Swap(int32(t)); old != int32(t) {
		d.peer.log.Debug("simulcast target", "publisher", d.up.owner.participant, "source", d.up.source,
			"layer", t, "width", d.maxWidth.Load(), "height", d.maxHeight.Load())
	}
	if int32(t) != d.current.Load() {
		if l := d.up.layers[t].Load(); l != nil {
			l.requestKeyframe()
		}
	}
}

// chooseLayer returns the layer d should get, or -1 if no layer is live.
func (u *UpTrack) chooseLayer(d *DownTrack, now int64) int {
	var live [maxLayers]*layer
	lowest, highest := -1, -1
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
	if lowest < 0 {
		return -1
	}

	// The size the subscriber shows the video at.
	want := highest
	if d.hidden.Load() {
		want = lowest
	} else if w, h := int64(d.maxWidth.Load()), int64(d.maxHeight.Load()); w > 0 && h > 0 {
		for i := lowest; i < highest; i++ {
			l := live[i]
			if l == nil {
				continue
			}
			// Fits when either side reaches 3/4 of the tile's: the video
			// is scaled to fit the tile, keeping its aspect ratio.
			lw, lh := int64(l.width.Load()), int64(l.height.Load())
			if lw > 0 && (lw*4 >= w*3 || lh*4 >= h*3) {
				want = i
				break
			}
		}
	}

	// What the subscriber's path carries.
	down := func(i int) int {
		for j := i - 1; j >= lowest; j-- {
			if live[j] != nil {
				return j
			}
		}
		return i
	}
	if est := d.estimate.Load(); est > 0 {
		for want > lowest && live[want].bitrate.Load() > est*9/10 {
			want = down(want)
		}
	}
	if now < d.lossyUntil.Load() {
		if cur := int(d.current.Load()); cur >= 0 && want >= cur {
			want = down(cur)
		}
	}
	return want
}

// noteNACKs records heavy loss when the subscriber asked again, in the
// last period, for more than lossyFraction of the packets its layer
// carried. Receiver reports count retransmitted packets as received, so
// on a path that loses much but repairs it they alone would not show it.
// Called by the layer chooser only.
func (d *DownTrack) noteNACKs(now time.Time) {
	n := d.nacked.Load()
	asked := n - d.lastNacked
	d.lastNacked = n
	cur := d.current.Load()
	if cur < 0 {
		return
	}
	l := d.up.layers[cur].Load()
	if l == nil || l.period == 0 {
		return
	}
	if asked*256 > l.period*lossyFraction {
		d.lossyUntil.Store(now.Add(lossyHold).UnixNano())
	}
}

// noteReports records heavy loss reported by the subscriber for this
// track.
func (d *DownTrack) noteReports(reports []rtcp.ReceptionReport) {
	b := d.binding.Load()
	if b == nil {
		return
	}
	for _, r := range reports {
		if r.SSRC == b.ssrc && r.FractionLost > lossyFraction {
			d.lossyUntil.Store(time.Now().Add(lossyHold).UnixNano())
		}
	}
}

// SetVideoSize records the size, in device pixels, at which the subscriber
// shows the publisher's video source; 0×0 means it shows no tile for it.
// It reports false if the peer does not receive that track.
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
	d.hidden.Store(width == 0 || height == 0)
	d.maxWidth.Store(int32(width))
	d.maxHeight.Store(int32(height))
	d.retarget(time.Now().UnixNano())
	return true
}
