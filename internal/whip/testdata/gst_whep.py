#!/usr/bin/env python3
"""A WHEP client (draft-ietf-wish-whep) made of GStreamer's webrtcbin, for
the test TestGStreamerPublishesIntoAMeeting: it offers to receive one VP8
video and one Opus audio track (every candidate in the offer), POSTs the
offer with a bearer token, applies the answer, decodes what arrives
(vp8dec, opusdec) and prints "video: 30 frames WxH" and "audio: 50 frames"
once as many have been decoded. On SIGINT or SIGTERM it DELETEs the
session's resource and exits.

    gst_whep.py URL TOKEN
"""
import os
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstWebRTC", "1.0")
from gi.repository import Gst, GstWebRTC  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gst_whip import session  # noqa: E402

CAPS = {
    "video": "application/x-rtp,media=video,encoding-name=VP8,payload=96,clock-rate=90000",
    "audio": "application/x-rtp,media=audio,encoding-name=OPUS,payload=111,clock-rate=48000",
}
WANT = {"video": 30, "audio": 50}


def main():
    url, token = sys.argv[1:3]
    Gst.init(None)
    pipe = Gst.Pipeline.new("whep")
    view = Gst.ElementFactory.make("webrtcbin", "view")
    view.set_property("bundle-policy", GstWebRTC.WebRTCBundlePolicy.MAX_BUNDLE)
    pipe.add(view)
    for kind in ("video", "audio"):
        view.emit("add-transceiver", GstWebRTC.WebRTCRTPTransceiverDirection.RECVONLY,
                  Gst.Caps.from_string(CAPS[kind]))
    decoded = {"video": 0, "audio": 0}

    def count(kind):
        def probe(pad, info):
            decoded[kind] += 1
            if decoded[kind] == WANT[kind]:
                if kind == "video":
                    s = pad.get_current_caps().get_structure(0)
                    print("video: %d frames %dx%d" % (WANT[kind], s.get_value("width"), s.get_value("height")), flush=True)
                else:
                    print("audio: %d frames" % WANT[kind], flush=True)
            return Gst.PadProbeReturn.OK
        return probe

    def on_pad(_, pad):
        if pad.get_direction() != Gst.PadDirection.SRC:
            return
        media = pad.get_current_caps().get_structure(0).get_value("media")
        chain = {"video": "rtpvp8depay ! vp8dec", "audio": "rtpopusdepay ! opusdec"}[media]
        sink = Gst.parse_bin_from_description(chain + " ! fakesink sync=false name=end", True)
        pipe.add(sink)
        sink.sync_state_with_parent()
        pad.link(sink.get_static_pad("sink"))
        sink.get_by_name("end").get_static_pad("sink").add_probe(Gst.PadProbeType.BUFFER, count(media))

    view.connect("pad-added", on_pad)
    return session(pipe, view, url, token)


if __name__ == "__main__":
    sys.exit(main())
