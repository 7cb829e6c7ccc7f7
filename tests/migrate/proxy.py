#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# proxy.py - a TCP relay that breaks the link on purpose, for the migration fault tests.
#
#   usage: proxy.py TARGET_PORT MODE BYTES
#     MODE cut:   relay both ways; once BYTES bytes went from the client to the target,
#                 close both connections (a dropped link)
#     MODE stall: relay until BYTES bytes went to the target, then stop relaying but keep
#                 both connections open (a peer that went silent)
#     MODE tee:   relay everything; write what the client sent to the file named by BYTES
# Prints "port N" (its own listening port on 127.0.0.1) on stdout, serves one connection,
# and exits when it is over.
import socket
import sys
import threading
import time

target, mode = int(sys.argv[1]), sys.argv[2]
record = open(sys.argv[3], "wb") if mode == "tee" else None
limit = 1 << 62 if mode == "tee" else int(sys.argv[3])
ls = socket.socket()
ls.bind(("127.0.0.1", 0))
ls.listen(1)
print("port", ls.getsockname()[1], flush=True)
client, _ = ls.accept()
server = socket.create_connection(("127.0.0.1", target))
done = threading.Event()
sent = 0


def pump(src, dst, counted):
    global sent
    try:
        while not done.is_set():
            data = src.recv(65536)
            if not data:
                break
            if counted:
                room = limit - sent
                if room <= 0:
                    break
                data = data[:room]
                sent += len(data)
                if record:
                    record.write(data)
                    record.flush()
            dst.sendall(data)
            if counted and sent >= limit:
                break
    except OSError:
        pass
    if mode == "cut" or not counted:
        done.set()


threading.Thread(target=pump, args=(server, client, False), daemon=True).start()
pump(client, server, True)
if mode == "stall":
    done.wait(60)
for s in (client, server):
    try:
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    s.close()
