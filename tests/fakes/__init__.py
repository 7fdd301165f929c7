"""Loopback fakes of the remote APIs: real HTTP servers on 127.0.0.1, ephemeral ports."""
