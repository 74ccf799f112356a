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
import signal
import sys
import threading
import urllib.parse

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstWebRTC", "1.0")
gi.require_version("GstSdp", "1.0")
from gi.repository import GLib, Gst, GstSdp, GstWebRTC  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gst_whip import request  # noqa: E402

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
    offered = threading.Event()
    gathered = threading.Event()
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

    def on_offer(promise, _):
        reply = promise.get_reply()
        offer = reply.get_value("offer") if reply else None
        if offer is None or offer.sdp.medias_len() != 2 or offered.is_set():
            return
        view.emit("set-local-description", offer, Gst.Promise.new())
        offered.set()

    def on_negotiation_needed(_):
        view.emit("create-offer", None, Gst.Promise.new_with_change_func(on_offer, None))

    def on_gathering(*_):
        if view.get_property("ice-gathering-state") == GstWebRTC.WebRTCICEGatheringState.COMPLETE:
            gathered.set()

    view.connect("pad-added", on_pad)
    view.connect("on-negotiation-needed", on_negotiation_needed)
    view.connect("notify::ice-gathering-state", on_gathering)
    pipe.set_state(Gst.State.PLAYING)
    if not offered.wait(20) or not gathered.wait(20):
        print("no offer or no candidates", file=sys.stderr)
        return 1
    offer = view.get_property("local-description").sdp.as_text()
    print(offer, file=sys.stderr)
    status, headers, body = request("POST", url, token, offer)
    if status != 201:
        print("refused: %d %s" % (status, body), file=sys.stderr)
        return 1
    location = urllib.parse.urljoin(url, headers["Location"])
    print(body, file=sys.stderr)
    _, sdp = GstSdp.SDPMessage.new_from_text(body)
    answer = GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.ANSWER, sdp)
    view.emit("set-remote-description", answer, Gst.Promise.new())

    loop = GLib.MainLoop()

    def stop(*_):
        status, _, _ = request("DELETE", location, token)
        print("DELETE: %d" % status, file=sys.stderr)
        loop.quit()
        return GLib.SOURCE_REMOVE

    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGINT, stop)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, stop)
    bus = pipe.get_bus()
    bus.add_signal_watch()

    def on_message(_, msg):
        if msg.type == Gst.MessageType.ERROR:
            print("error: %s" % (msg.parse_error(),), file=sys.stderr)
            loop.quit()

    bus.connect("message", on_message)
    loop.run()
    pipe.set_state(Gst.State.NULL)
    return 0


if __name__ == "__main__":
    sys.exit(main())
