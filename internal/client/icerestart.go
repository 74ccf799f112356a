package client

import "github.com/pion/webrtc/v4"

// restartICE answers the server's ice_restart: our next offer carries new
// ICE credentials, at once if negotiation is stable and it is our turn,
// else once it settles.
func (c *Client) restartICE() error {
	c.negMu.Lock()
	defer c.negMu.Unlock()
	c.mu.Lock()
	c.iceRestartsAsked++
	c.mu.Unlock()
	if c.pc == nil {
		return nil // not admitted yet: nothing to restart
	}
	c.iceRestart = true
	return c.offerLocked()
}

// offerOptions are the options of our next offer (negMu held): an ICE
// restart if one is owed.
func (c *Client) offerOptions() *webrtc.OfferOptions {
	if !c.iceRestart {
		return nil
	}
	c.iceRestart = false
	return &webrtc.OfferOptions{ICERestart: true}
}

// ICERestartsAsked is how many times the server asked this client to
// restart ICE.
func (c *Client) ICERestartsAsked() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.iceRestartsAsked
}
