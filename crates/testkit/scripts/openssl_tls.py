#!/usr/bin/env python3
"""A TLS session made by OpenSSL (through Python's ssl module, in memory), for phonehome's tests.

Usage: openssl_tls.py VERSION CIPHERS ETM CERT KEY [REQUEST_HEX RESPONSE_HEX]...
  VERSION  1.0, 1.1, 1.2 or 1.3 (both sides pinned to it)
  CIPHERS  an OpenSSL cipher string for TLS 1.2 and below (e.g. ECDHE-ECDSA-AES128-SHA)
  ETM      1 to allow encrypt-then-MAC (RFC 7366, OpenSSL's default), 0 to forbid it

Prints one line per flight, "C <hex>" (client to server) or "S <hex>", then the client's key log
lines prefixed with "K ". Exit code 3 when this Python or OpenSSL cannot make such a session.
"""
import ssl
import sys
import tempfile
import os

OP_NO_ENCRYPT_THEN_MAC = 0x00080000  # SSL_OP_NO_ENCRYPT_THEN_MAC (not exported by Python)


def main():
    version, ciphers, etm, cert, key = sys.argv[1:6]
    exchanges = [(bytes.fromhex(a), bytes.fromhex(b)) for a, b in zip(sys.argv[6::2], sys.argv[7::2])]
    v = {"1.0": ssl.TLSVersion.TLSv1, "1.1": ssl.TLSVersion.TLSv1_1,
         "1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}[version]
    keylog = os.path.join(tempfile.mkdtemp(), "keys.txt")
    try:
        server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        for ctx in (server, client):
            ctx.minimum_version = v
            ctx.maximum_version = v
            if version != "1.3":
                ctx.set_ciphers(ciphers + ":@SECLEVEL=0")
            if etm == "0":
                ctx.options |= OP_NO_ENCRYPT_THEN_MAC
        server.load_cert_chain(cert, key)
        client.check_hostname = False
        client.verify_mode = ssl.CERT_NONE
        client.keylog_filename = keylog
    except (ssl.SSLError, ValueError, AttributeError) as e:
        print(f"cannot set up: {e}", file=sys.stderr)
        sys.exit(3)
    cin, cout, sin, sout = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
    c = client.wrap_bio(cin, cout, server_hostname="phonehome.test")
    s = server.wrap_bio(sin, sout, server_side=True)
    flights = []

    def pump():
        moved = True
        while moved:
            moved = False
            data = cout.read()
            if data:
                flights.append(("C", data))
                sin.write(data)
                moved = True
            data = sout.read()
            if data:
                flights.append(("S", data))
                cin.write(data)
                moved = True

    def step(obj, fn):
        try:
            return fn()
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
            return None

    done = [False, False]
    for _ in range(50):
        if not done[0]:
            done[0] = step(c, c.do_handshake) is not None or done[0]
        if not done[1]:
            done[1] = step(s, s.do_handshake) is not None or done[1]
        pump()
        try:
            c.do_handshake()
            s.do_handshake()
            break
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
            continue
        except ssl.SSLError as e:
            print(f"handshake failed: {e}", file=sys.stderr)
            sys.exit(3)
    for req, resp in exchanges:
        c.write(req)
        pump()
        got = b""
        while len(got) < len(req):
            chunk = step(s, lambda: s.read(65536))
            if not chunk:
                break
            got += chunk
        s.write(resp)
        pump()
        while step(c, lambda: c.read(65536)):
            pass
        pump()
    step(c, c.unwrap)
    pump()
    for d, data in flights:
        print(d, data.hex())
    with open(keylog) as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                print("K", line.strip())


if __name__ == "__main__":
    main()
