"""Runs a moto server on 127.0.0.1:PORT until its standard input closes.

The test process keeps the pipe open; when it exits, for whatever reason, the pipe closes and
this server stops with it, so no test run leaves a server behind.
"""

import logging
import sys

from moto.server import ThreadedMotoServer

# One access-log line per request would bury the test output.
logging.getLogger("werkzeug").setLevel(logging.ERROR)

port = int(sys.argv[1])
server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
server.start()
print("ready", flush=True)
sys.stdin.read()
server.stop()
