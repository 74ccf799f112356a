package sfu

// vp8Keyframe reports whether an RTP payload starts a VP8 key frame. It
// reads only what stays in clear under Kaigi's end-to-end encryption (see
// docs/security.md): the VP8 payload descriptor (RFC 7741 section 4.2),
// which the packetizer adds after encryption, and the first byte of the
// VP8 payload header, whose lowest bit (P) is 0 on key frames.
func vp8Keyframe(payload []byte) bool {
	n, start := vp8DescriptorSize(payload)
	if n == 0 || !start || len(payload) <= n {
		return false
	}
	return payload[n]&0x01 == 0
}

// vp8Dimensions returns a key frame's width and height, which follow the
// 3-byte frame tag and 3-byte start code in the clear prefix.
func vp8Dimensions(payload []byte) (width, height int, ok bool) {
	n, _ := vp8DescriptorSize(payload)
	if n == 0 || len(payload) < n+10 {
		return 0, 0, false
	}
	p := payload[n:]
	if p[3] != 0x9d || p[4] != 0x01 || p[5] != 0x2a {
		return 0, 0, false
	}
	w := int(p[6]) | int(p[7]&0x3f)<<8
	h := int(p[8]) | int(p[9]&0x3f)<<8
	return w, h, w > 0 && h > 0
}

// vp8DescriptorSize parses the payload descriptor and returns its length
// (0 if malformed) and whether the packet starts partition 0 of a frame.
func vp8DescriptorSize(p []byte) (n int, start bool) {
	if len(p) < 1 {
		return 0, false
	}
	x := p[0]&0x80 != 0
	start = p[0]&0x10 != 0 && p[0]&0x07 == 0 // S set, partition index 0
	n = 1
	if !x {
		return n, start
	}
	if len(p) < 2 {
		return 0, false
	}
	ext := p[1]
	n = 2
	if ext&0x80 != 0 { // I: picture ID, 7 or 15 bits
		if len(p) < n+1 {
			return 0, false
		}
		if p[n]&0x80 != 0 {
			n += 2
		} else {
			n++
		}
	}
	if ext&0x40 != 0 { // L: TL0PICIDX
		n++
	}
	if ext&0x30 != 0 { // T or K: TID/Y/KEYIDX
		n++
	}
	if len(p) < n {
		return 0, false
	}
	return n, start
}

// vp8Picture locates the picture ID and TL0PICIDX in a VP8 payload
// descriptor (RFC 7741 section 4.2): pic is the picture ID's offset, -1 if
// the descriptor has none, long whether it has 15 bits rather than 7; tl0
// is TL0PICIDX's offset, -1 if none.
func vp8Picture(p []byte) (pic int, long bool, tl0 int) {
	pic, tl0 = -1, -1
	if n, _ := vp8DescriptorSize(p); n < 2 || p[0]&0x80 == 0 {
		return pic, false, tl0
	}
	ext, n := p[1], 2
	if ext&0x80 != 0 {
		pic, long = n, p[n]&0x80 != 0
		n++
		if long {
			n++
		}
	}
	if ext&0x40 != 0 {
		tl0 = n
	}
	return pic, long, tl0
}

// vp8PictureID reads the picture ID at offset pic (see vp8Picture).
func vp8PictureID(p []byte, pic int, long bool) uint16 {
	if long {
		return uint16(p[pic]&0x7f)<<8 | uint16(p[pic+1])
	}
	return uint16(p[pic] & 0x7f)
}

// putVP8PictureID writes a picture ID of the descriptor's own length: the
// low 15 bits of id, or the low 7 of a 7-bit one.
func putVP8PictureID(p []byte, pic int, long bool, id uint16) {
	if long {
		p[pic] = 0x80 | byte(id>>8)&0x7f
		p[pic+1] = byte(id)
		return
	}
	p[pic] = byte(id) & 0x7f
}
