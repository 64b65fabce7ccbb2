#!/usr/bin/env python3
"""An independent check of the S3 client's SigV4 signatures: botocore (the
AWS SDK's own signer) recomputes the signature of every request the client
sent and compares it with the one libcurl put in its Authorization header.

  sigv4_check.py serve FILE    answers S3-like requests on a free loopback
                               port (printed first), appending each request
                               to FILE as JSON; exits after a request for a
                               key ending in "__quit"
  sigv4_check.py verify FILE ACCESS_KEY SECRET TOKEN REGION
                               prints OK/BAD per request, then ALL MATCH or
                               MISMATCH (tests/storage/s3_signing_test.cpp)
"""
import http.server
import json
import re
import sys


def serve(path):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def answer(self):
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n) if n else b""
            with open(path, "a") as f:
                f.write(json.dumps({"method": self.command, "path": self.path,
                                    "headers": dict(self.headers.items()),
                                    "body": body.decode("latin1")}) + "\n")
            if self.command == "POST" and "uploads" in self.path:
                out = b"<InitiateMultipartUploadResult><UploadId>u+p/1=</UploadId></InitiateMultipartUploadResult>"
            elif self.command == "GET" and "list-type" in self.path:
                out = b"<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>"
            else:
                out = b""
            self.send_response(200)
            self.send_header("ETag", '"abc"')
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(out)
            if self.path.endswith("__quit"):
                self.server.quit = True

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = answer

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    server.quit = False
    print(server.server_address[1], flush=True)
    while not server.quit:
        server.handle_request()


def verify(path, access_key, secret, token, region):
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    creds = Credentials(access_key, secret, token or None)
    ok = True
    for line in open(path):
        r = json.loads(line)
        h = {k.lower(): v for k, v in r["headers"].items()}
        auth = h.get("authorization", "")
        m = re.search(r"SignedHeaders=([^,]+).*Signature=([0-9a-f]+)", auth)
        if not m:
            print("BAD " + r["method"] + " " + r["path"] + ": no SigV4 Authorization header")
            ok = False
            continue
        signed = m.group(1).split(";")
        missing = [k for k in signed if k not in h]
        if missing:
            print("BAD " + r["method"] + " " + r["path"] + ": signs headers it does not send: " + ",".join(missing))
            ok = False
            continue
        req = AWSRequest(method=r["method"], url="http://127.0.0.1" + r["path"],
                         headers={k: h[k] for k in signed}, data=r["body"].encode("latin1"))
        req.context["timestamp"] = h["x-amz-date"]
        signer = S3SigV4Auth(creds, "s3", region)
        expected = signer.signature(signer.string_to_sign(req, signer.canonical_request(req)), req)
        same = expected == m.group(2)
        ok &= same
        print(("OK  " if same else "BAD ") + r["method"] + " " + r["path"])
    print("ALL MATCH" if ok else "MISMATCH")


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(sys.argv[2])
    else:
        verify(*sys.argv[2:7])
