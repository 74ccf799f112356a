//go:build !linux

package sfu

import "net"

// setBuffers asks for size bytes of send and receive buffer; the sizes
// granted are not known here, so size is reported.
func setBuffers(c *net.UDPConn, size int) (rcv, snd int, err error) {
	if err := c.SetReadBuffer(size); err != nil {
		return 0, 0, err
	}
	if err := c.SetWriteBuffer(size); err != nil {
		return 0, 0, err
	}
	return size, size, nil
}
