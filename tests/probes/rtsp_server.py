"""A real RTSP server for the CCTV probe's tests: GStreamer's RTSP server serving a test
pattern (VP8 at 10 frames per second) at /camera and a microphone's tone without any
video at /audio, behind Basic or Digest authentication. Clients may PLAY either, with
RTP over UDP or interleaved in the RTSP connection.

Run with Debian's Python (it has python3-gi; the project's virtualenv does not):
    /usr/bin/python3 rtsp_server.py {basic|digest|none} USER PASSWORD
It prints the bound port on its first line of output, then serves until killed.
"""

import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402

PIPELINE = (
    "( videotestsrc is-live=true ! video/x-raw,width=160,height=120,framerate=10/1 "
    "! vp8enc deadline=1 ! rtpvp8pay name=pay0 pt=96 )"
)
AUDIO_ONLY = "( audiotestsrc is-live=true ! mulawenc ! rtppcmupay name=pay0 )"


def viewer_permissions() -> GstRtspServer.RTSPPermissions:
    permissions = GstRtspServer.RTSPPermissions()
    permissions.add_permission_for_role("viewer", "media.factory.access", True)
    permissions.add_permission_for_role("viewer", "media.factory.construct", True)
    return permissions


def main(mode: str, user: str, password: str) -> None:
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service("0")
    mounts = server.get_mount_points()
    for path, launch in (("/camera", PIPELINE), ("/audio", AUDIO_ONLY)):
        factory = GstRtspServer.RTSPMediaFactory()
        factory.set_launch(launch)
        factory.set_shared(True)
        if mode != "none":
            factory.set_permissions(viewer_permissions())
        mounts.add_factory(path, factory)
    if mode != "none":
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string("media.factory.role", "viewer")
        if mode == "digest":
            auth.set_supported_methods(GstRtsp.RTSPAuthMethod.DIGEST)
            auth.add_digest(user, password, token)
        else:
            auth.set_supported_methods(GstRtsp.RTSPAuthMethod.BASIC)
            auth.add_basic(GstRtspServer.RTSPAuth.make_basic(user, password), token)
        server.set_auth(auth)
    server.attach(None)
    print(server.get_bound_port(), flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main(*sys.argv[1:4])
